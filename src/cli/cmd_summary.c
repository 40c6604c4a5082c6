/* cmd_summary.c - `lenet summary`: the layer table. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "lenet/arch.h"

int cmd_summary(int argc, char **argv) {
    int conv_bias = 1, json = 0;
    static const struct option opts[] = {
        {"conv-bias", required_argument, 0, 'b'}, {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = cli_getopt(argc, argv, "", opts)) != -1) {
        switch (c) {
        case 'b': if (cli_onoff("--conv-bias", optarg, &conv_bias)) return 2; break;
        case 'j': json = 1; break;
        case 'h':
            puts("usage: lenet summary [--conv-bias on|off] [--json]\n"
                 "  --conv-bias on|off  conv layers with bias (default on: the seed's 61,706 params;\n"
                 "                      off: MindSpore's default, 61,684)\n"
                 "  --json              one JSON object");
            return 0;
        default: return 2;
        }
    }
    if (optind < argc) { cli_error("unexpected argument '%s'; see `lenet summary --help`", argv[optind]); return 2; }
    const ln_layer *layers = ln_arch_layers();
    ln_tensor_info tensors[LN_MAX_TENSORS];
    size_t total = 0;
    ln_arch_tensors(conv_bias, tensors, &total);
    if (json) {
        printf("{\"layers\": [");
        for (int i = 0; i < LN_ARCH_LAYERS; i++) {
            const ln_layer *l = &layers[i];
            printf("%s{\"name\": \"%s\", \"output_shape\": [", i ? ", " : "", l->name);
            for (int d = 0; d < l->ndim; d++) printf("%s%d", d ? ", " : "", l->out[d]);
            printf("], \"params\": %zu}", ln_arch_layer_params(l, conv_bias));
        }
        printf("], \"total_params\": %zu}\n", total);
    } else {
        printf("%-8s %-16s %10s\n", "layer", "output shape", "params");
        for (int i = 0; i < LN_ARCH_LAYERS; i++) {
            const ln_layer *l = &layers[i];
            char shape[48];
            if (l->ndim == 3) snprintf(shape, sizeof shape, "(%d, %d, %d)", l->out[0], l->out[1], l->out[2]);
            else snprintf(shape, sizeof shape, "(%d)", l->out[0]);
            printf("%-8s %-16s %10zu\n", l->name, shape, ln_arch_layer_params(l, conv_bias));
        }
        printf("total params: %zu (input (%d, %d, %d), conv bias %s)\n", total, LN_IN_C, LN_IN_SIDE, LN_IN_SIDE,
               conv_bias ? "on" : "off");
    }
    return 0;
}
