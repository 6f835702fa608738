recording-card =
    🎙 Call recording: { $mode }
    “This call is recorded” notice: { $notice }
    Employees may listen to their own calls: { $employees }
    Selective rules: { $rules }
recording-mode-off = off
recording-mode-all = every call
recording-mode-selective = selected employees, groups and numbers
recording-no-rules = none
storage-card =
    💾 Recordings: { $used } of { $quota } GB used ({ $packs } extra packs of 5 GB), { $files } files, { $hours } h
    Add a pack automatically when full: { $auto }
    Kept for { $days } days
storage-minutes = Limit: { $minutes } minutes of recordings
storage-event = { $at } { $what }
storage-event-pack_added = { $count } pack(s) added automatically
storage-event-pack_removed = { $count } pack(s) removed
storage-event-quota_deleted = storage full: { $count } oldest recording(s) deleted ({ $mb } MB)
storage-event-retention_deleted = { $count } recording(s) past the retention period deleted ({ $mb } MB)
storage-event-quota_full = storage full
recordings-empty = No recordings match.
recordings-title = 🎙 Recordings, times { $zone } (press a number to listen):
recording-line = { $n }. { $when } { $direction } { $caller } → { $callee }, { $seconds } s
recording-caption = Call #{ $call } { $caller } → { $callee }, { $when }, { $seconds } s
call-listen = ▶ Listen to the recording
err-bad_recording_mode = Unknown mode “{ $value }”: say all, selective or off.
err-bad_rule_kind = Unknown rule “{ $value }”: say employee, group or number.
err-bad_rule_direction = Unknown direction “{ $value }”: say in, out or both.
err-no_such_rule = There is no recording rule for { $name }.
err-no_such_rule_target = There is no { $kind } “{ $name }” in your company.
err-no_such_recording = There is no such recording.
err-recording_off = Call recording is off. Recordings are kept until the retention period ends; switch it on (/recording mode=all) to listen to them again.
err-recordings_not_allowed = Employees may not listen to recordings in this company. Ask the owner (/recording employees=on).
help-stats = /stats [today|yesterday|week|month|YYYY-MM-DD..YYYY-MM-DD] — call statistics with charts and CSV/XLSX; /now — calls and phones right now
help-recordings = /recordings [filters as /calls] — call recordings to listen to; /recordings_zip [filters] — all of them as a ZIP
help-recording-setup = /recording [mode=all|selective|off notice=on|off employees=on|off] — call recording; /record_rule add|remove employee EXT [in|out|both] | group NAME | number N; /storage [packs=N auto_pack=on|off retention=DAYS]
menu-recordings = 🎙 Recordings
menu-stats = 📊 Statistics
