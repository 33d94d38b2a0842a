{
	"patcher": {
		"appversion": {
			"architecture": "x64",
			"major": 8,
			"minor": 6,
			"modernui": 1,
			"revision": 0
		},
		"autosave": 0,
		"bglocked": 0,
		"boxes": [
			{
				"box": {
					"fontface": 1,
					"id": "obj-1",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [15.0, 10.0, 600.0, 20.0],
					"text": "rhythmicnet control: live settings of the engine over OSC"
				}
			},
			{
				"box": {
					"id": "obj-2",
					"linecount": 2,
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [15.0, 35.0, 620.0, 34.0],
					"text": "Sends to the engine's control server on 127.0.0.1:9001. Click a message, change a number or a toggle: it is sent at once."
				}
			},
			{
				"box": {
					"id": "obj-3",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [15.0, 570.0, 168.0, 22.0],
					"text": "udpsend 127.0.0.1 9001"
				}
			},
			{
				"box": {
					"id": "obj-4",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [200.0, 570.0, 220.0, 20.0],
					"text": "every control above goes out here"
				}
			},
			{
				"box": {
					"fontface": 1,
					"id": "obj-5",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [15.0, 80.0, 600.0, 20.0],
					"text": "TRANSPORT  start / stop the performance; panic = all notes off now"
				}
			},
			{
				"box": {
					"id": "obj-6",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [15.0, 105.0, 140.0, 22.0],
					"text": "/rhythmicnet/start"
				}
			},
			{
				"box": {
					"id": "obj-7",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [190.0, 105.0, 133.0, 22.0],
					"text": "/rhythmicnet/stop"
				}
			},
			{
				"box": {
					"id": "obj-8",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [365.0, 105.0, 140.0, 22.0],
					"text": "/rhythmicnet/panic"
				}
			},
			{
				"box": {
					"id": "obj-9",
					"linecount": 2,
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [15.0, 145.0, 250.0, 34.0],
					"text": "TEMPERATURE  sampling temperature (0.05..5.0): higher = wilder"
				}
			},
			{
				"box": {
					"id": "obj-10",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [15.0, 181.0, 126.0, 22.0],
					"text": "loadmess set 1.0"
				}
			},
			{
				"box": {
					"format": 6,
					"id": "obj-11",
					"maxclass": "flonum",
					"maximum": 5.0,
					"minimum": 0.05,
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"patching_rect": [15.0, 211.0, 50.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-12",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [15.0, 241.0, 238.0, 22.0],
					"text": "prepend /rhythmicnet/temperature"
				}
			},
			{
				"box": {
					"id": "obj-13",
					"linecount": 2,
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [285.0, 145.0, 250.0, 34.0],
					"text": "DENSITY  0..1: share of generated notes kept"
				}
			},
			{
				"box": {
					"id": "obj-14",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [285.0, 181.0, 126.0, 22.0],
					"text": "loadmess set 1.0"
				}
			},
			{
				"box": {
					"format": 6,
					"id": "obj-15",
					"maxclass": "flonum",
					"maximum": 1.0,
					"minimum": 0.0,
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"patching_rect": [285.0, 211.0, 50.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-16",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [285.0, 241.0, 210.0, 22.0],
					"text": "prepend /rhythmicnet/density"
				}
			},
			{
				"box": {
					"id": "obj-17",
					"linecount": 2,
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [15.0, 305.0, 250.0, 34.0],
					"text": "DRUMS  on/off (MIDI channel 10)"
				}
			},
			{
				"box": {
					"id": "obj-18",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [15.0, 341.0, 112.0, 22.0],
					"text": "loadmess set 1"
				}
			},
			{
				"box": {
					"id": "obj-19",
					"maxclass": "toggle",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["int"],
					"parameter_enable": 0,
					"patching_rect": [15.0, 371.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"id": "obj-20",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [15.0, 401.0, 196.0, 22.0],
					"text": "prepend /rhythmicnet/drums"
				}
			},
			{
				"box": {
					"id": "obj-21",
					"linecount": 2,
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [285.0, 305.0, 250.0, 34.0],
					"text": "PIANO  on/off (MIDI channel 1)"
				}
			},
			{
				"box": {
					"id": "obj-22",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [285.0, 341.0, 112.0, 22.0],
					"text": "loadmess set 1"
				}
			},
			{
				"box": {
					"id": "obj-23",
					"maxclass": "toggle",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["int"],
					"parameter_enable": 0,
					"patching_rect": [285.0, 371.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"id": "obj-24",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [285.0, 401.0, 196.0, 22.0],
					"text": "prepend /rhythmicnet/piano"
				}
			},
			{
				"box": {
					"id": "obj-25",
					"linecount": 2,
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [555.0, 305.0, 250.0, 34.0],
					"text": "TEMPO LOCK  on = hold the current tempo, off = follow the dancer"
				}
			},
			{
				"box": {
					"id": "obj-26",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [555.0, 341.0, 112.0, 22.0],
					"text": "loadmess set 0"
				}
			},
			{
				"box": {
					"id": "obj-27",
					"maxclass": "toggle",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["int"],
					"parameter_enable": 0,
					"patching_rect": [555.0, 371.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"id": "obj-28",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [555.0, 401.0, 231.0, 22.0],
					"text": "prepend /rhythmicnet/tempo_lock"
				}
			},
			{
				"box": {
					"id": "obj-29",
					"linecount": 2,
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [555.0, 145.0, 270.0, 34.0],
					"text": "TEMPO RANGE  min / max BPM of the beat tracker (20..400)"
				}
			},
			{
				"box": {
					"id": "obj-30",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [555.0, 241.0, 112.0, 22.0],
					"text": "pak 60.0 180.0"
				}
			},
			{
				"box": {
					"id": "obj-31",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [555.0, 181.0, 133.0, 22.0],
					"text": "loadmess set 60.0"
				}
			},
			{
				"box": {
					"format": 6,
					"id": "obj-32",
					"maxclass": "flonum",
					"maximum": 400.0,
					"minimum": 20.0,
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"patching_rect": [555.0, 211.0, 60.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-33",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [690.0, 181.0, 140.0, 22.0],
					"text": "loadmess set 180.0"
				}
			},
			{
				"box": {
					"format": 6,
					"id": "obj-34",
					"maxclass": "flonum",
					"maximum": 400.0,
					"minimum": 20.0,
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"patching_rect": [690.0, 211.0, 60.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-35",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [555.0, 271.0, 238.0, 22.0],
					"text": "prepend /rhythmicnet/tempo_range"
				}
			},
			{
				"box": {
					"fontface": 1,
					"id": "obj-36",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [15.0, 450.0, 600.0, 20.0],
					"text": "PING  the engine replies /rhythmicnet/pong to port 9002: the button flashes"
				}
			},
			{
				"box": {
					"id": "obj-37",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [15.0, 475.0, 168.0, 22.0],
					"text": "/rhythmicnet/ping 9002"
				}
			},
			{
				"box": {
					"id": "obj-38",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [285.0, 475.0, 119.0, 22.0],
					"text": "udpreceive 9002"
				}
			},
			{
				"box": {
					"id": "obj-39",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": ["", ""],
					"patching_rect": [285.0, 510.0, 175.0, 22.0],
					"text": "route /rhythmicnet/pong"
				}
			},
			{
				"box": {
					"id": "obj-40",
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["bang"],
					"parameter_enable": 0,
					"patching_rect": [555.0, 510.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"id": "obj-41",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [585.0, 512.0, 200.0, 20.0],
					"text": "pong = the engine is alive"
				}
			}
		],
		"classnamespace": "box",
		"default_fontface": 0,
		"default_fontname": "Arial",
		"default_fontsize": 12.0,
		"dependency_cache": [],
		"fileversion": 1,
		"gridonopen": 1,
		"gridsize": [15.0, 15.0],
		"gridsnaponopen": 1,
		"lines": [
			{
				"patchline": {
					"destination": ["obj-3", 0],
					"source": ["obj-6", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-3", 0],
					"source": ["obj-7", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-3", 0],
					"source": ["obj-8", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-11", 0],
					"source": ["obj-10", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-12", 0],
					"source": ["obj-11", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-3", 0],
					"source": ["obj-12", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-15", 0],
					"source": ["obj-14", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-16", 0],
					"source": ["obj-15", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-3", 0],
					"source": ["obj-16", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-19", 0],
					"source": ["obj-18", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-20", 0],
					"source": ["obj-19", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-3", 0],
					"source": ["obj-20", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-23", 0],
					"source": ["obj-22", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-24", 0],
					"source": ["obj-23", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-3", 0],
					"source": ["obj-24", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-27", 0],
					"source": ["obj-26", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-28", 0],
					"source": ["obj-27", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-3", 0],
					"source": ["obj-28", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-32", 0],
					"source": ["obj-31", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-30", 0],
					"source": ["obj-32", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-34", 0],
					"source": ["obj-33", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-30", 1],
					"source": ["obj-34", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-35", 0],
					"source": ["obj-30", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-3", 0],
					"source": ["obj-35", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-3", 0],
					"source": ["obj-37", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-39", 0],
					"source": ["obj-38", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-40", 0],
					"source": ["obj-39", 0]
				}
			}
		],
		"objectsnaponopen": 1,
		"openinpresentation": 0,
		"rect": [80.0, 80.0, 860.0, 620.0],
		"statusbarvisible": 2,
		"toolbarvisible": 1
	}
}
