# Inbound scenarios: groups, menus, schedules, a number's scenario, alerts, voicemail.
yes = yes
no = no
removed = Removed: { $name }.
default-prompt = the standard prompt
button-stale = This button is out of date: ask again.
algo-sequential = one by one
algo-cumulative = cumulative (earlier phones keep ringing)
algo-ring_all = all at once
algo-least_idle = even (longest idle first)
algo-random = random
algo-priority = parallel by priority (position in the list)
groups-empty = No ring groups yet. Create one: /group_add sales ring_all
group-card =
    👥 Group { $name }: { $algorithm }
    Members: { $members }
    Interval { $interval } s, gives up after { $timeout } s, cyclic: { $cyclic }
    If nobody answers: { $fallback }
menus-empty = No menus yet. Create one: /menu_set main 1=group:sales 2=ext:101
menu-card =
    ☎️ Menu { $name } (prompt: { $prompt })
    { $options }
    Waits { $timeout } s, repeats { $repeats } times, dial by extension: { $ext }
    No choice: { $on_timeout }; wrong choice: { $on_invalid }
schedules-empty = No schedules yet: numbers work 24/7. Create one: /hours office mon-fri 09:00-18:00
day-mon = Mon
day-tue = Tue
day-wed = Wed
day-thu = Thu
day-fri = Fri
day-sat = Sat
day-sun = Sun
closed = closed
holiday-line = Holiday { $day }
special-line = { $day }: { $hours }
open-now = Open now.
closed-now = Closed now.
override-open = (set by hand: /schedule_auto to follow the hours)
override-closed = (set by hand: /schedule_auto to follow the hours)
schedule-card =
    🕘 Schedule { $name }
    { $days }
    { $extra }
    { $state }
scenario-card =
    📞 { $number }
    Greeting: { $greeting }
    Schedule: { $schedule }
    In hours: { $open }
    Out of hours: { $closed }
    If the target cannot take the call: { $fallback }
alerts-card =
    🔔 Missed calls and voicemail are sent to the employees concerned in Telegram.
    Also to the owner: { $owner }
    By e-mail: { $email }
    By SMS: { $sms }
voicemail-empty = No voicemail.
voicemail-title = 📨 Voicemail (● not listened yet):
voicemail-line = { $mark }#{ $id } { $at } from { $caller } to box { $box }, { $duration } s
voicemail-caption = Voicemail from { $caller }, { $duration } s
err-target_syntax = “{ $value }” is not a target. Use ext:101, group:NAME, menu:NAME, queue:NAME, voicemail:101|NAME|common, forward:+79161234567, message:AUDIO or hangup.
err-target_missing = { $target } does not exist in your company: create it first.
err-target_in_use = Still used by { $users }: change those first.
err-forward_no_trunk = Forwarding to a phone number needs a trunk with a company number: /trunk_add, then /number_add.
err-hours_syntax = “{ $value }” is not a time range: write 09:00-18:00, several joined by commas, or closed.
err-hours_order = In “{ $value }” the end is not after the start.
err-days_syntax = “{ $value }” are not days: write mon-fri, sat, mon,wed or all.
err-bad_date = “{ $value }” is not a date: write YYYY-MM-DD, e.g. 2026-12-31.
err-bad_flag = Say on or off, not “{ $value }”.
err-bad_range = { $what } must be a whole number from { $lo } to { $hi }.
err-bad_entity_name = “{ $name }” cannot be a name: latin letters, digits, - and _, starting with a letter (e.g. sales).
err-bad_algorithm = There is no algorithm “{ $value }”. Choose one of: { $known }.
err-bad_option = There is no option “{ $option }” here. Options: { $known }.
err-group_exists = There is a group { $name } already.
err-no_such_group = There is no group { $name }: see /groups.
err-no_such_menu = There is no menu { $name }: see /menus.
err-no_such_schedule = There is no schedule { $name }: see /schedules.
err-no_audio_named = There is no audio named { $name }: upload it with /audio_add.
err-no_such_voicemail = That message is not there or not yours.
help-voicemail = /voicemail — voicemail left for you (▶ to listen)
help-scenarios = /scenarios — every number's scenario; /scenario NUMBER [open=… closed=… fallback=… schedule=… greeting=…] — what a number does with calls
    /groups, /group_add NAME [ALGORITHM], /group_members NAME EXT [EXT,EXT …], /group_set NAME key=value …, /group_del NAME — ring groups
    /menus, /menu_set NAME prompt=AUDIO 1=TARGET … timeout=5 repeats=2, /menu_del NAME — voice menus (IVR)
    /queues, /queue_set NAME group=GROUP max_wait=300 ring=20 callback=on fallback=TARGET, /queue_del NAME — call queues
    /schedules, /hours NAME mon-fri 09:00-18:00, /holiday NAME DATE [off], /special_day NAME DATE HOURS|auto, /open_now NAME, /closed_now NAME, /schedule_auto NAME — working hours
    /audio, /audio_add KIND NAME — greetings, menu prompts, music on hold
    /alerts [owner=on|off email=on|off sms=on|off] — who hears about missed calls
    Targets: ext:101, group:NAME, menu:NAME, queue:NAME, voicemail:101|NAME|common, forward:+79161234567, message:AUDIO, hangup
queues-empty = No queues yet. Create one: /queue_set support group=sales
queue-card =
    ⏳ Queue { $name }: agents of group { $group }, waiting now: { $waiting }
    Longest wait { $max_wait } s, each agent rings { $ring } s, position every { $announce } s
    Callback on request: { $callback }; after the longest wait: { $fallback }
calling-back = Your phone rings now: pick up and we will call { $client }.
calling-back-mobile = Your mobile { $mobile } rings now: pick up and we will call { $client }.
call-back-unregistered = Your phone is not registered, so it cannot ring and { $client } was not called. Turn the phone on and check its settings with /my_sip.{ $mobile ->
    [none] {""}
   *[other] {" "}Or ring your mobile instead:
}
btn-ring-mobile = 📱 Ring my mobile { $mobile }
err-no_mobile = You have no mobile number set: ask an admin to add it (/employee_edit EXT mobile NUMBER).
err-no_trunk = The company has no trunk to call out through: an admin adds one with /trunk_add.
err-queue_needs_group = A new queue needs its agents: add group=NAME.
err-no_such_queue = There is no queue { $name }: see /queues.
err-engine_unreachable = The phone system cannot be reached right now: try again in a minute.
menu-scenarios = 📞 Numbers' scenarios
menu-groups = 👥 Ring groups
menu-menus = ☎️ Voice menus
menu-queues = ⏳ Queues
menu-schedules = 🕘 Schedules
menu-voicemail = 📨 Voicemail
