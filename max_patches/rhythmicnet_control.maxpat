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
					"patching_rect": [15.0, 670.0, 168.0, 22.0],
					"text": "udpsend 127.0.0.1 9001"
				}
			},
			{
				"box": {
					"id": "obj-4",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [200.0, 670.0, 220.0, 20.0],
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
					"patching_rect": [15.0, 80.0, 800.0, 20.0],
					"text": "TRANSPORT  start / stop the performance; panic = all notes off now; tap on the beats = tempo and phase; downbeat = this beat is one"
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
					"patching_rect": [175.0, 105.0, 133.0, 22.0],
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
					"patching_rect": [335.0, 105.0, 140.0, 22.0],
					"text": "/rhythmicnet/panic"
				}
			},
			{
				"box": {
					"id": "obj-9",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [495.0, 105.0, 126.0, 22.0],
					"text": "/rhythmicnet/tap"
				}
			},
			{
				"box": {
					"id": "obj-10",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [655.0, 105.0, 161.0, 22.0],
					"text": "/rhythmicnet/downbeat"
				}
			},
			{
				"box": {
					"id": "obj-11",
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
					"id": "obj-12",
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
					"id": "obj-13",
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
					"id": "obj-14",
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
					"id": "obj-15",
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
					"id": "obj-16",
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
					"id": "obj-17",
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
					"id": "obj-18",
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
					"id": "obj-19",
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
					"id": "obj-20",
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
					"id": "obj-21",
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
					"id": "obj-22",
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
					"id": "obj-23",
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
					"id": "obj-24",
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
					"id": "obj-25",
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
					"id": "obj-26",
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
					"id": "obj-27",
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
					"id": "obj-28",
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
					"id": "obj-29",
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
					"id": "obj-30",
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
					"id": "obj-31",
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
					"id": "obj-32",
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
					"id": "obj-33",
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
					"id": "obj-34",
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
					"id": "obj-35",
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
					"id": "obj-36",
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
					"id": "obj-37",
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
					"id": "obj-38",
					"linecount": 2,
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [15.0, 440.0, 250.0, 34.0],
					"text": "BPM  known tempo (20..400; the dancer gives the phase); 0 = follow the dancer"
				}
			},
			{
				"box": {
					"id": "obj-39",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [15.0, 476.0, 126.0, 22.0],
					"text": "loadmess set 0.0"
				}
			},
			{
				"box": {
					"format": 6,
					"id": "obj-40",
					"maxclass": "flonum",
					"maximum": 400.0,
					"minimum": 0.0,
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"patching_rect": [15.0, 506.0, 50.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-41",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [15.0, 536.0, 182.0, 22.0],
					"text": "prepend /rhythmicnet/bpm"
				}
			},
			{
				"box": {
					"fontface": 1,
					"id": "obj-42",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [15.0, 580.0, 600.0, 20.0],
					"text": "PING  the engine replies /rhythmicnet/pong to port 9002: the button flashes"
				}
			},
			{
				"box": {
					"id": "obj-43",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [15.0, 605.0, 168.0, 22.0],
					"text": "/rhythmicnet/ping 9002"
				}
			},
			{
				"box": {
					"id": "obj-44",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [285.0, 605.0, 119.0, 22.0],
					"text": "udpreceive 9002"
				}
			},
			{
				"box": {
					"id": "obj-45",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": ["", ""],
					"patching_rect": [285.0, 640.0, 175.0, 22.0],
					"text": "route /rhythmicnet/pong"
				}
			},
			{
				"box": {
					"id": "obj-46",
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["bang"],
					"parameter_enable": 0,
					"patching_rect": [555.0, 640.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"id": "obj-47",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [585.0, 642.0, 200.0, 20.0],
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
					"destination": ["obj-3", 0],
					"source": ["obj-9", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-3", 0],
					"source": ["obj-10", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-12", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-14", 0],
					"source": ["obj-13", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-3", 0],
					"source": ["obj-14", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-17", 0],
					"source": ["obj-16", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-18", 0],
					"source": ["obj-17", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-3", 0],
					"source": ["obj-18", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-21", 0],
					"source": ["obj-20", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-22", 0],
					"source": ["obj-21", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-3", 0],
					"source": ["obj-22", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-25", 0],
					"source": ["obj-24", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-26", 0],
					"source": ["obj-25", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-3", 0],
					"source": ["obj-26", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-29", 0],
					"source": ["obj-28", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-30", 0],
					"source": ["obj-29", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-3", 0],
					"source": ["obj-30", 0]
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
					"destination": ["obj-32", 0],
					"source": ["obj-34", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-36", 0],
					"source": ["obj-35", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-32", 1],
					"source": ["obj-36", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-37", 0],
					"source": ["obj-32", 0]
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
					"destination": ["obj-40", 0],
					"source": ["obj-39", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-41", 0],
					"source": ["obj-40", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-3", 0],
					"source": ["obj-41", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-3", 0],
					"source": ["obj-43", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-45", 0],
					"source": ["obj-44", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-46", 0],
					"source": ["obj-45", 0]
				}
			}
		],
		"objectsnaponopen": 1,
		"openinpresentation": 0,
		"rect": [80.0, 80.0, 860.0, 720.0],
		"statusbarvisible": 2,
		"toolbarvisible": 1
	}
}
