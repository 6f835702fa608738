# Оповещения из очереди уведомлений (Telegram, e-mail, SMS).
caller-unknown = неизвестный номер
line-number = Номер: { $number }
line-target = Кому: { $target }
line-time = Время: { $time }
line-duration = Длительность: { $duration }
line-box = Голосовой ящик: { $box }
btn-call-back = Перезвонить

missed-title = 📞 Пропущенный звонок от { $caller }
missed-subject = Пропущенный звонок от { $caller }
missed-sms = Пропущенный звонок от { $caller } в { $hhmm }

voicemail-title = 🎙 Новое голосовое сообщение от { $caller }
voicemail-subject = Голосовое сообщение от { $caller } ({ $duration })
voicemail-sms = Голосовое сообщение от { $caller } в { $hhmm }, { $duration }
voicemail-attached = Запись во вложении.

email-footer = Это письмо отправлено автоматически вашей телефонной системой.
statement-subject = Счёт за { $month }: { $gross } { $cur }
statement-text =
    💼 Счёт за { $month } готов: { $gross } { $cur }
    (без НДС { $net }, НДС { $vat }). Строки и изменения: /statement { $month }
statement-btn-pdf = 📄 PDF
statement-btn-csv = 📊 CSV
