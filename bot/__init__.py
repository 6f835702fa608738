"""The Telegram cabinet: aiogram routers over pbx.services.cabinet."""
