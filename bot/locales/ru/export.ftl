# Выгрузка записей разговоров одним архивом (bot/handlers/export.py).
export-progress = Готовлю записи… { $done }/{ $total }
export-ready = Записей: { $count }, { $size_mb } МБ. Список звонков — в index.csv.
export-link = Архив (записей: { $count }, { $size_mb } МБ) слишком велик для Telegram. Скачайте его по ссылке до { $expires }:
    { $url }
export-missing = Файлов записей нет: { $count } (удалены по лимитам хранилища); в index.csv эти звонки указаны без файла.
err-export_empty = За этот период и с этим фильтром записей нет. Попробуйте другой период, например /recordings_zip week или /recordings_zip 2026-11-01..2026-11-30.
