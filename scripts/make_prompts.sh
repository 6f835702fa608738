#!/usr/bin/env bash
# Regenerates the shipped system prompts in pbx/prompts/ (committed; not run at install).
# Needs espeak-ng and sox (apt-get install -y espeak-ng sox). Every file is a 16-bit
# 8 kHz mono WAV; the service converts them for the media relay on first use.
set -euo pipefail

OUT="$(cd "$(dirname "$0")/.." && pwd)/pbx/prompts"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
FMT=(-r 8000 -c 1 -b 16 -e signed-integer)

say() {  # say LANG VOICE NAME TEXT
    local lang=$1 voice=$2 name=$3 text=$4
    mkdir -p "$OUT/$lang"
    espeak-ng -v "$voice" -s 150 -w "$TMP/raw.wav" "$text"
    # Telephone band, trimmed leading silence, peak at -3 dBFS, a short tail of silence.
    sox "$TMP/raw.wav" "${FMT[@]}" "$OUT/$lang/$name.wav" \
        vol 0.5 highpass 200 lowpass 3400 silence 1 0.02 0.5% norm -3 pad 0 0.2
}

en() { say en en-us "$1" "$2"; }
ru() { say ru ru "$1" "$2"; }

en greeting "Welcome. Please wait while we connect you."
en closed "We are closed now. Please call us during working hours."
en voicemail "Please leave a message after the tone."
en invalid "Invalid choice. Please try again."
en timeout "You did not choose an option."
en goodbye "Thank you for calling. Goodbye."
en unavailable "Nobody can answer right now. Please call later."
en queue_wait "All operators are busy. Please stay on the line."
en queue_position "Your position in the queue is"
en queue_callback "Press one to be called back when an operator is free."
en callback_ok "Thank you. We will call you back."
en recorded "This call is recorded."
i=0
for word in zero one two three four five six seven eight nine; do
    en "d$i" "$word"; i=$((i + 1))
done

ru greeting "Здравствуйте. Пожалуйста, подождите, мы соединяем вас."
ru closed "Сейчас мы не работаем. Пожалуйста, позвоните в рабочее время."
ru voicemail "Пожалуйста, оставьте сообщение после сигнала."
ru invalid "Неверный выбор. Попробуйте ещё раз."
ru timeout "Вы не сделали выбор."
ru goodbye "Спасибо за звонок. До свидания."
ru unavailable "Сейчас никто не может ответить. Пожалуйста, перезвоните позже."
ru queue_wait "Все операторы заняты. Пожалуйста, оставайтесь на линии."
ru queue_position "Ваш номер в очереди"
ru queue_callback "Нажмите один, чтобы мы перезвонили вам, когда оператор освободится."
ru callback_ok "Спасибо. Мы вам перезвоним."
ru recorded "Этот разговор записывается."
i=0
for word in ноль один два три четыре пять шесть семь восемь девять; do
    ru "d$i" "$word"; i=$((i + 1))
done

# Shared by both languages: the voicemail tone and music on hold.
sox -n "${FMT[@]}" "$OUT/beep.wav" synth 0.4 sine 1000 vol 0.5 fade q 0.01 0.4 0.01
# The ringing tone callers hear as early media while phones ring (425 Hz, 1 s on, 4 s off:
# the Russian and European ringback cadence); loops cleanly.
sox -n "${FMT[@]}" "$OUT/ringback.wav" synth 1 sine 425 vol 0.4 fade q 0.01 1 0.01 pad 0 4

# Music on hold: four soft plucked chords (C, Am, F, G), two seconds each; loops cleanly
# because every chord fades out to silence.
# Frequencies in Hz: C4 E4 G4 | A3 C4 E4 | F3 A3 C4 | G3 B3 D4.
chords=("261.63 329.63 392.00" "220.00 261.63 329.63" "174.61 220.00 261.63" "196.00 246.94 293.66")
parts=()
for n in "${!chords[@]}"; do
    read -r a b c <<<"${chords[$n]}"
    sox -n -r 8000 -c 3 -b 16 "$TMP/chord$n.wav" synth 2 pluck "$a" pluck "$b" pluck "$c" \
        remix 1,2,3 fade q 0.02 2 0.6
    parts+=("$TMP/chord$n.wav")
done
sox "${parts[@]}" "${FMT[@]}" "$OUT/moh.wav" lowpass 3000 norm -10

echo "prompts written to $OUT"
