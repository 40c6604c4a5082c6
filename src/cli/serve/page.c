/* page.c - the draw-a-digit page (page.html) embedded in the binary, so
 * `lenet serve` needs no file besides the checkpoint. The assembler copies
 * the file's bytes in (.incbin, path relative to the repository root, where
 * make runs the compiler) and a NUL after them. */
#include "http.h"

__asm__(".section .rodata\n"
        ".global serve_page_html\n"
        ".type serve_page_html, @object\n"
        ".balign 16\n"
        "serve_page_html:\n"
        ".incbin \"src/cli/serve/page.html\"\n"
        "serve_page_html_end:\n"
        ".byte 0\n"
        ".global serve_page_html_len\n"
        ".type serve_page_html_len, @object\n"
        ".balign 4\n"
        "serve_page_html_len:\n"
        ".long serve_page_html_end - serve_page_html\n"
        ".previous\n");
