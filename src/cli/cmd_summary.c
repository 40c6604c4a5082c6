/* cmd_summary.c - `lenet summary`: the layer table. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "lenet/net.h"

int cmd_summary(int argc, char **argv) {
    int conv_bias = 1, json = 0;
    static const struct option opts[] = {
        {"conv-bias", required_argument, 0, 'b'}, {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
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
    if (optind < argc) { cli_error("summary: unexpected argument '%s'", argv[optind]); return 2; }
    ln_lenet net;
    ln_error err;
    if (ln_lenet_init(&net, conv_bias, 1, 1, NULL, &err)) return cli_fail(&err);
    ln_layer_info rows[16];
    int n = ln_lenet_layers(&net, rows);
    if (json) {
        printf("{\"layers\": [");
        for (int i = 0; i < n; i++) {
            printf("%s{\"name\": \"%s\", \"output_shape\": [", i ? ", " : "", rows[i].name);
            for (int d = 0; d < rows[i].ndim; d++) printf("%s%d", d ? ", " : "", rows[i].shape[d]);
            printf("], \"params\": %zu}", rows[i].params);
        }
        printf("], \"total_params\": %zu}\n", net.n_params);
    } else {
        printf("%-8s %-16s %10s\n", "layer", "output shape", "params");
        for (int i = 0; i < n; i++) {
            char shape[48];
            if (rows[i].ndim == 3)
                snprintf(shape, sizeof shape, "(%d, %d, %d)", rows[i].shape[0], rows[i].shape[1], rows[i].shape[2]);
            else
                snprintf(shape, sizeof shape, "(%d)", rows[i].shape[0]);
            printf("%-8s %-16s %10zu\n", rows[i].name, shape, rows[i].params);
        }
        printf("total params: %zu (input (1, 32, 32), conv bias %s)\n", net.n_params, conv_bias ? "on" : "off");
    }
    ln_lenet_free(&net);
    return 0;
}
