/* Bare whisper.cpp, for comparison with Molt's transcriber: the same bundled
 * sources (from the whisper-rs-sys crate), the same model and audio, greedy
 * decoding with whisper.cpp's default parameters. Reads a 16-kHz mono 16-bit WAV.
 * Usage: whisper_bare MODEL WAV LANGUAGE THREADS RUNS */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "whisper.h"

static float *read_wav(const char *path, int *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(size);
    if (fread(buf, 1, size, f) != (size_t)size) { fclose(f); return NULL; }
    fclose(f);
    long pos = 12;
    while (pos + 8 <= size && memcmp(buf + pos, "data", 4) != 0) {
        uint32_t len = buf[pos + 4] | buf[pos + 5] << 8 | buf[pos + 6] << 16 | (uint32_t)buf[pos + 7] << 24;
        pos += 8 + len + (len & 1);
    }
    if (pos + 8 > size) return NULL;
    long bytes = size - pos - 8;
    *n = (int)(bytes / 2);
    float *out = malloc(sizeof(float) * *n);
    for (int i = 0; i < *n; i++) {
        int16_t s = (int16_t)(buf[pos + 8 + 2 * i] | buf[pos + 9 + 2 * i] << 8);
        out[i] = s / 32768.0f;
    }
    free(buf);
    return out;
}

static void quiet(enum ggml_log_level level, const char *text, void *data) {
    (void)level; (void)text; (void)data;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 6) { fprintf(stderr, "usage: %s MODEL WAV LANGUAGE THREADS RUNS\n", argv[0]); return 2; }
    int n = 0;
    float *pcm = read_wav(argv[2], &n);
    if (!pcm) { fprintf(stderr, "cannot read %s\n", argv[2]); return 1; }
    whisper_log_set(quiet, NULL);
    struct whisper_context *ctx = whisper_init_from_file_with_params(argv[1], whisper_context_default_params());
    if (!ctx) return 1;
    int runs = atoi(argv[5]);
    for (int r = 0; r < runs; r++) {
        struct whisper_full_params p = whisper_full_default_params(WHISPER_SAMPLING_GREEDY);
        p.n_threads = atoi(argv[4]);
        p.language = argv[3];
        p.print_progress = false;
        p.print_realtime = false;
        p.print_timestamps = false;
        double t0 = now();
        if (whisper_full(ctx, p, pcm, n) != 0) return 1;
        double wall = now() - t0;
        printf("bare run %d: %.3f s, RTF %.3f, %d segments\n", r + 1, wall, wall / (n / 16000.0), whisper_full_n_segments(ctx));
    }
    whisper_free(ctx);
    free(pcm);
    return 0;
}
