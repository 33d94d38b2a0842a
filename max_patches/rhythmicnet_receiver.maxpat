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
					"text": "rhythmicnet receiver: plays and shows the OSC stream of rhythmicnet-live"
				}
			},
			{
				"box": {
					"id": "obj-2",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [15.0, 35.0, 600.0, 20.0],
					"text": "Listens on UDP 9000: run  rhythmicnet-live perform --osc 127.0.0.1:9000"
				}
			},
			{
				"box": {
					"id": "obj-3",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [15.0, 65.0, 119.0, 22.0],
					"text": "udpreceive 9000"
				}
			},
			{
				"box": {
					"id": "obj-4",
					"maxclass": "newobj",
					"numinlets": 5,
					"numoutlets": 5,
					"outlettype": ["", "", "", "", ""],
					"patching_rect": [15.0, 100.0, 567.0, 22.0],
					"text": "route /rhythmicnet/note /rhythmicnet/beat /rhythmicnet/tempo /rhythmicnet/style"
				}
			},
			{
				"box": {
					"id": "obj-5",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [15.0, 125.0, 600.0, 20.0],
					"text": "The rightmost outlet passes everything else (e.g. /rhythmicnet/keypoints, 34 floats, for visuals)."
				}
			},
			{
				"box": {
					"fontface": 1,
					"id": "obj-6",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [15.0, 160.0, 330.0, 20.0],
					"text": "NOTES  track pitch velocity duration(s)"
				}
			},
			{
				"box": {
					"id": "obj-7",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 3,
					"outlettype": ["", "", ""],
					"patching_rect": [15.0, 190.0, 133.0, 22.0],
					"text": "route drums piano"
				}
			},
			{
				"box": {
					"id": "obj-8",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [15.0, 220.0, 170.0, 20.0],
					"text": "drums: MIDI channel 10"
				}
			},
			{
				"box": {
					"id": "obj-9",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [225.0, 220.0, 170.0, 20.0],
					"text": "piano: MIDI channel 1"
				}
			},
			{
				"box": {
					"id": "obj-10",
					"linecount": 5,
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [440.0, 160.0, 125.0, 76.0],
					"text": "Output: off = noteout (Max MIDI port), on = midiout (Max for Live: the device's track)"
				}
			},
			{
				"box": {
					"id": "obj-11",
					"maxclass": "toggle",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["int"],
					"parameter_enable": 0,
					"patching_rect": [440.0, 250.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"id": "obj-12",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": ["int"],
					"patching_rect": [440.0, 285.0, 40.0, 22.0],
					"text": "+ 1"
				}
			},
			{
				"box": {
					"id": "obj-13",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [110.0, 460.0, 63.0, 22.0],
					"text": "midiout"
				}
			},
			{
				"box": {
					"id": "obj-14",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": ["int", "int", "float"],
					"patching_rect": [15.0, 250.0, 105.0, 22.0],
					"text": "unpack 0 0 0."
				}
			},
			{
				"box": {
					"id": "obj-15",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": ["float"],
					"patching_rect": [105.0, 280.0, 63.0, 22.0],
					"text": "* 1000."
				}
			},
			{
				"box": {
					"id": "obj-16",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 2,
					"outlettype": ["float", "float"],
					"patching_rect": [15.0, 310.0, 126.0, 22.0],
					"text": "makenote 100 500"
				}
			},
			{
				"box": {
					"id": "obj-17",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [15.0, 340.0, 70.0, 22.0],
					"text": "pack 0 0"
				}
			},
			{
				"box": {
					"id": "obj-18",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": ["", ""],
					"patching_rect": [15.0, 370.0, 70.0, 22.0],
					"text": "gate 2 1"
				}
			},
			{
				"box": {
					"id": "obj-19",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["int", "int"],
					"patching_rect": [15.0, 400.0, 84.0, 22.0],
					"text": "unpack 0 0"
				}
			},
			{
				"box": {
					"id": "obj-20",
					"maxclass": "newobj",
					"numinlets": 7,
					"numoutlets": 1,
					"outlettype": ["int"],
					"patching_rect": [110.0, 400.0, 105.0, 22.0],
					"text": "midiformat 10"
				}
			},
			{
				"box": {
					"id": "obj-21",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 0,
					"patching_rect": [15.0, 430.0, 84.0, 22.0],
					"text": "noteout 10"
				}
			},
			{
				"box": {
					"id": "obj-22",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": ["int", "int", "float"],
					"patching_rect": [225.0, 250.0, 105.0, 22.0],
					"text": "unpack 0 0 0."
				}
			},
			{
				"box": {
					"id": "obj-23",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": ["float"],
					"patching_rect": [315.0, 280.0, 63.0, 22.0],
					"text": "* 1000."
				}
			},
			{
				"box": {
					"id": "obj-24",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 2,
					"outlettype": ["float", "float"],
					"patching_rect": [225.0, 310.0, 126.0, 22.0],
					"text": "makenote 100 500"
				}
			},
			{
				"box": {
					"id": "obj-25",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"patching_rect": [225.0, 340.0, 70.0, 22.0],
					"text": "pack 0 0"
				}
			},
			{
				"box": {
					"id": "obj-26",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": ["", ""],
					"patching_rect": [225.0, 370.0, 70.0, 22.0],
					"text": "gate 2 1"
				}
			},
			{
				"box": {
					"id": "obj-27",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["int", "int"],
					"patching_rect": [225.0, 400.0, 84.0, 22.0],
					"text": "unpack 0 0"
				}
			},
			{
				"box": {
					"id": "obj-28",
					"maxclass": "newobj",
					"numinlets": 7,
					"numoutlets": 1,
					"outlettype": ["int"],
					"patching_rect": [320.0, 400.0, 98.0, 22.0],
					"text": "midiformat 1"
				}
			},
			{
				"box": {
					"id": "obj-29",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 0,
					"patching_rect": [225.0, 430.0, 77.0, 22.0],
					"text": "noteout 1"
				}
			},
			{
				"box": {
					"id": "obj-30",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [15.0, 490.0, 400.0, 20.0],
					"text": "makenote turns each note into note-on + note-off after its duration (ms)."
				}
			},
			{
				"box": {
					"fontface": 1,
					"id": "obj-31",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [580.0, 160.0, 260.0, 20.0],
					"text": "BEAT  index position bpm confidence"
				}
			},
			{
				"box": {
					"id": "obj-32",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 4,
					"outlettype": ["int", "int", "float", "float"],
					"patching_rect": [580.0, 190.0, 150.0, 22.0],
					"text": "unpack 0 0 0. 0."
				}
			},
			{
				"box": {
					"id": "obj-33",
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["bang"],
					"parameter_enable": 0,
					"patching_rect": [750.0, 190.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"id": "obj-34",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [780.0, 192.0, 80.0, 20.0],
					"text": "every beat"
				}
			},
			{
				"box": {
					"id": "obj-35",
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"patching_rect": [580.0, 225.0, 60.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-36",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [580.0, 250.0, 60.0, 20.0],
					"text": "beat"
				}
			},
			{
				"box": {
					"id": "obj-37",
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"patching_rect": [645.0, 225.0, 60.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-38",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [645.0, 250.0, 60.0, 20.0],
					"text": "pos"
				}
			},
			{
				"box": {
					"format": 6,
					"id": "obj-39",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"patching_rect": [710.0, 225.0, 60.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-40",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [710.0, 250.0, 60.0, 20.0],
					"text": "bpm"
				}
			},
			{
				"box": {
					"format": 6,
					"id": "obj-41",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"patching_rect": [775.0, 225.0, 60.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-42",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [775.0, 250.0, 60.0, 20.0],
					"text": "conf"
				}
			},
			{
				"box": {
					"id": "obj-43",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": ["bang", ""],
					"patching_rect": [645.0, 280.0, 49.0, 22.0],
					"text": "sel 0"
				}
			},
			{
				"box": {
					"id": "obj-44",
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["bang"],
					"parameter_enable": 0,
					"patching_rect": [645.0, 315.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"id": "obj-45",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [675.0, 317.0, 150.0, 20.0],
					"text": "downbeat (position 0)"
				}
			},
			{
				"box": {
					"fontface": 1,
					"id": "obj-46",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [880.0, 160.0, 90.0, 20.0],
					"text": "TEMPO bpm"
				}
			},
			{
				"box": {
					"format": 6,
					"id": "obj-47",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"patching_rect": [880.0, 190.0, 70.0, 22.0]
				}
			},
			{
				"box": {
					"fontface": 1,
					"id": "obj-48",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [990.0, 160.0, 110.0, 20.0],
					"text": "STYLE strength"
				}
			},
			{
				"box": {
					"format": 6,
					"id": "obj-49",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"patching_rect": [990.0, 190.0, 70.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-50",
					"maxclass": "multislider",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", ""],
					"parameter_enable": 0,
					"patching_rect": [990.0, 225.0, 30.0, 100.0],
					"setminmax": [0.0, 1.0],
					"size": 1
				}
			},
			{
				"box": {
					"id": "obj-51",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [1025.0, 305.0, 40.0, 20.0],
					"text": "0..1"
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
					"destination": ["obj-4", 0],
					"source": ["obj-3", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-7", 0],
					"source": ["obj-4", 0]
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
					"destination": ["obj-14", 0],
					"source": ["obj-7", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-16", 0],
					"source": ["obj-14", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-16", 1],
					"source": ["obj-14", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-15", 0],
					"source": ["obj-14", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-16", 2],
					"source": ["obj-15", 0]
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
					"destination": ["obj-17", 1],
					"source": ["obj-16", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-18", 0],
					"source": ["obj-12", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-18", 1],
					"source": ["obj-17", 0]
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
					"source": ["obj-18", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-20", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-21", 0],
					"source": ["obj-19", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-21", 1],
					"source": ["obj-19", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-22", 0],
					"source": ["obj-7", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-24", 0],
					"source": ["obj-22", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-24", 1],
					"source": ["obj-22", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-23", 0],
					"source": ["obj-22", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-24", 2],
					"source": ["obj-23", 0]
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
					"destination": ["obj-25", 1],
					"source": ["obj-24", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-26", 0],
					"source": ["obj-12", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-26", 1],
					"source": ["obj-25", 0]
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
					"source": ["obj-26", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-28", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-29", 0],
					"source": ["obj-27", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-29", 1],
					"source": ["obj-27", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-32", 0],
					"source": ["obj-4", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-33", 0],
					"source": ["obj-4", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-35", 0],
					"source": ["obj-32", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-37", 0],
					"source": ["obj-32", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-39", 0],
					"source": ["obj-32", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-41", 0],
					"source": ["obj-32", 3]
				}
			},
			{
				"patchline": {
					"destination": ["obj-43", 0],
					"source": ["obj-32", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-44", 0],
					"source": ["obj-43", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-47", 0],
					"source": ["obj-4", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-49", 0],
					"source": ["obj-4", 3]
				}
			},
			{
				"patchline": {
					"destination": ["obj-50", 0],
					"source": ["obj-4", 3]
				}
			}
		],
		"objectsnaponopen": 1,
		"openinpresentation": 0,
		"rect": [80.0, 80.0, 1120.0, 640.0],
		"statusbarvisible": 2,
		"toolbarvisible": 1
	}
}
