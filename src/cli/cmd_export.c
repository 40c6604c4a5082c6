/* cmd_export.c - `lenet export`: a checkpoint as ONNX, safetensors or a
 * normalised MindSpore .ckpt. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "lenet/bytebuf.h"
#include "lenet/export.h"
#include "lenet/fileio.h"

int cmd_export(int argc, char **argv) {
    const char *ckpt = NULL, *format = NULL, *out = NULL;
    int json = 0, crc = 0;
    enum { O_CKPT = 256, O_FORMAT, O_OUT, O_CRC, O_JSON, O_HELP };
    static const struct option opts[] = {{"ckpt", 1, 0, O_CKPT}, {"format", 1, 0, O_FORMAT},
                                         {"output", 1, 0, O_OUT}, {"crc", 0, 0, O_CRC},
                                         {"json", 0, 0, O_JSON},  {"help", 0, 0, O_HELP},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = cli_getopt(argc, argv, "o:", opts)) != -1) {
        switch (c) {
        case O_CKPT: ckpt = optarg; break;
        case O_FORMAT: format = optarg; break;
        case 'o':
        case O_OUT: out = optarg; break;
        case O_CRC: crc = 1; break;
        case O_JSON: json = 1; break;
        case O_HELP:
            puts("usage: lenet export --ckpt FILE --format onnx|safetensors|mindspore -o OUT\n"
                 "  --ckpt FILE        checkpoint to export (MindSpore .ckpt; default: the newest in checkpoints/)\n"
                 "  --format F         onnx: ONNX model (opset 13), input \"input\" float32 [N,1,32,32]\n"
                 "                           normalised as the pipeline does, output \"logits\" [N,10]\n"
                 "                     safetensors: the network's tensors, checkpoint names, F32\n"
                 "                     mindspore: a clean MindSpore .ckpt (network first, optimizer kept)\n"
                 "  -o, --output OUT   file to write (replaced atomically; required)\n"
                 "  --crc              mindspore only: append MindSpore 2.3's CRC trailer (default off)\n"
                 "  --json             one JSON object describing the result\n"
                 "The network variant (conv bias on or off) is taken from the checkpoint.");
            return 0;
        default: return 2;
        }
    }
    if (optind < argc) { cli_error("unexpected argument '%s'; see `lenet export --help`", argv[optind]); return 2; }
    if (!format) { cli_error("missing option: --format; give onnx, safetensors or mindspore"); return 2; }
    if (!out) { cli_error("missing option: -o OUT; give the file to write"); return 2; }
    const int f_onnx = !strcmp(format, "onnx"), f_st = !strcmp(format, "safetensors"),
              f_ms = !strcmp(format, "mindspore");
    if (!f_onnx && !f_st && !f_ms) {
        cli_error("unknown format: --format '%s'; use onnx, safetensors or mindspore", format);
        return 2;
    }
    if (crc && !f_ms) { cli_error("option without effect: --crc; it applies to --format mindspore only"); return 2; }
    char newest[4096];
    if (!(ckpt = cli_ckpt_or_newest(ckpt, newest, sizeof newest))) return 2;
    struct stat st;
    if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) {
        cli_error("output is a folder: -o %s; give a file name", out);
        return 2;
    }

    ln_error err;
    if (ln_out_distinct(out, ckpt, "--ckpt", &err)) return cli_fail(&err);
    ln_ckpt ck;
    if (ln_ckpt_read(ckpt, &ck, &err)) return cli_fail(&err);
    ln_export_net net;
    ln_status s = ln_export_find_net(&ck, ckpt, &net, &err);
    if (!s) {
        if (f_onnx) s = ln_export_onnx(&ck, ckpt, out, &err);
        else if (f_st) s = ln_export_safetensors(&ck, ckpt, out, &err);
        else s = ln_export_mindspore(&ck, ckpt, out, crc, &err);
    }
    const int extra = ck.n - net.n;
    ln_ckpt_free(&ck);
    if (s) return cli_fail(&err);
    long long bytes = stat(out, &st) == 0 ? (long long)st.st_size : -1;
    if (json) {
        ln_buf q;
        ln_buf_init(&q);
        ln_buf_json_str(&q, out);
        printf("{\"format\": \"%s\", \"output\": %.*s, \"bytes\": %lld, \"conv_bias\": %s, \"params\": %ld}\n",
               format, (int)q.len, q.p ? (const char *)q.p : "\"\"", bytes, net.conv_bias ? "true" : "false",
               net.n_params);
        ln_buf_free(&q);
    } else
        printf("exported %s (LeNet-5, conv bias %s, %ld parameters%s) to %s: %s, %lld bytes\n", ckpt,
               net.conv_bias ? "on" : "off", net.n_params,
               f_ms && extra > 0 ? ", optimizer state kept" : "", out, format, bytes);
    return 0;
}
