# Alerts sent by the notification outbox (Telegram, e-mail, SMS).
caller-unknown = unknown number
line-number = Number: { $number }
line-target = To: { $target }
line-time = Time: { $time }
line-duration = Duration: { $duration }
line-box = Voice mailbox: { $box }
btn-call-back = Call back

missed-title = 📞 Missed call from { $caller }
missed-subject = Missed call from { $caller }
missed-sms = Missed call from { $caller } at { $hhmm }

voicemail-title = 🎙 New voicemail from { $caller }
voicemail-subject = Voicemail from { $caller } ({ $duration })
voicemail-sms = Voicemail from { $caller } at { $hhmm }, { $duration }
voicemail-attached = The recording is attached.

email-footer = This message was sent automatically by your phone system.
statement-subject = Statement for { $month }: { $gross } { $cur }
statement-text =
    💼 The statement for { $month } is ready: { $gross } { $cur }
    (net { $net }, VAT { $vat }). Lines and changes: /statement { $month }
statement-btn-pdf = 📄 PDF
statement-btn-csv = 📊 CSV
