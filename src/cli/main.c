/* main.c - `lenet`, the command-line tool: dispatch to subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f) {
    fputs("usage: lenet <command> [options]   (lenet <command> --help for its options)\n"
          "commands:\n"
          "  inspect   check a data set as the tutorial does: size, keys, shape, label; show an item\n"
          "  summary   print LeNet-5's layers, output shapes and parameter counts\n"
          "  train     train LeNet-5 on MNIST, evaluate, save a checkpoint\n"
          "  eval      evaluate a checkpoint on the MNIST test set\n"
          "  predict   classify your own pictures of digits (PNG or PGM, any size)\n"
          "  export    write a checkpoint as ONNX, safetensors or a MindSpore .ckpt\n"
          "  report    a training report (curves, confusion matrix, mistakes) as PNGs + index.html\n",
          f);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "inspect")) return cmd_inspect(argc - 1, argv + 1);
    if (!strcmp(cmd, "summary")) return cmd_summary(argc - 1, argv + 1);
    if (!strcmp(cmd, "train")) return cmd_train(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval")) return cmd_eval(argc - 1, argv + 1);
    if (!strcmp(cmd, "predict")) return cmd_predict(argc - 1, argv + 1);
    if (!strcmp(cmd, "export")) return cmd_export(argc - 1, argv + 1);
    if (!strcmp(cmd, "report")) return cmd_report(argc - 1, argv + 1);
    cli_error("unknown command '%s'; run `lenet --help` for the list", cmd);
    return 2;
}
