#!/usr/bin/env bash
# Molt's transcriber against bare whisper.cpp, side by side in one run: the same
# bundled whisper.cpp sources and static libraries (built by whisper-rs-sys for
# Molt's release binary), the same model, the same audio, greedy decoding, the
# same thread count. Runs alternate so both see the same machine load.
#   scripts/bench-whisper.sh [MODEL] [RUNS] [SECONDS_OF_SPEECH]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
model=${1:-base}
runs=${2:-3}
threads=2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release -q
molt=target/release/molt
out=$(ls -td target/release/build/whisper-rs-sys-*/out | head -n1)
src=$(dirname "$(ls -d ~/.cargo/registry/src/*/whisper-rs-sys-*/whisper.cpp/include | head -n1)")
openmp=$(grep -q "GGML_OPENMP:BOOL=ON" "$out/build/CMakeCache.txt" && echo -fopenmp || true)
gcc -O2 bench/whisper_bare.c -I"$src/include" -I"$src/ggml/include" -L"$out/lib" \
  -lwhisper -lggml -lggml-cpu -lggml-base -lstdc++ -lm -lpthread $openmp -o "$work/whisper_bare"

# About the requested length of English speech (espeak-ng), as 16-kHz mono 16-bit WAV.
secs=${3:-180}
sentence="The studio keeps the old songs alive, and every evening the band plays them again for the people of the city. "
text=$(for _ in $(seq 1 $((secs / 6 + 1))); do printf '%s' "$sentence"; done)
espeak-ng -s 150 -w "$work/raw.wav" "$text"
sox "$work/raw.wav" -r 16000 -c 1 -b 16 "$work/speech.wav" trim 0 "$secs"
echo "audio: $(soxi -D "$work/speech.wav") s; model: $model; threads: $threads; $(nproc) cores"

"$molt" models list >/dev/null
ggml=$(ls molt-data/models/whisper-"${model//./-}".ggml.bin 2>/dev/null || true)
[ -n "$ggml" ] || { MOLT_LOG=warn "$molt" models import-ct2 "molt-data/models/whisper-${model//./-}-ct2" >/dev/null; ggml=molt-data/models/whisper-"${model//./-}".ggml.bin; }
for r in $(seq 1 "$runs"); do
  "$work/whisper_bare" "$ggml" "$work/speech.wav" en "$threads" 1 | sed "s/run 1/run $r/"
  MOLT_WHISPER__THREADS=$threads "$molt" bench transcribe --audio "$work/speech.wav" --model "$model" --language en --runs 1 --json |
    python3 -c "import json,sys; r=json.load(sys.stdin); print(f'molt run $r: {r[\"median_secs\"]:.3f} s, RTF {r[\"median_rtf\"]:.3f} (decode + resample + whisper)')"
done
