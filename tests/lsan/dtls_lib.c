/* tests/lsan/dtls_lib.c - a library with a small thread-local, opened with
 * dlopen by dtls_main.c so that its TLS block is allocated dynamically. */
__thread char dtls_buf[24];
void dtls_touch(void) { dtls_buf[0] = 1; }
