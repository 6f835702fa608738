# Bulk export of call recordings (bot/handlers/export.py).
export-progress = Preparing the recordings… { $done }/{ $total }
export-ready = { $count } recordings, { $size_mb } MB. The list of calls is in index.csv.
export-link = The archive ({ $count } recordings, { $size_mb } MB) is too big for Telegram. Download it here until { $expires }:
    { $url }
export-missing = { $count } recordings were listed but their files are gone (deleted by the storage limits); index.csv lists those calls without a file.
err-export_empty = No recordings match this period and filter. Try another period, e.g. /recordings_zip week or /recordings_zip 2026-11-01..2026-11-30.
