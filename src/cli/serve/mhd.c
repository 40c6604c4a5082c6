/* mhd.c - libmicrohttpd, opened at run time (mhd.h). */
#include "mhd.h"

#include <string.h>

#include "../dlsym_table.h"

ln_status serve_mhd_open(serve_mhd *m, ln_error *err) {
    memset(m, 0, sizeof *m);
    void *lib = dlopen(SERVE_MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        return ln_fail(err, LN_E_SYSTEM, "the HTTP server needs %s (%s); install it: apt-get install libmicrohttpd12",
                       SERVE_MHD_SONAME, why ? why : "cannot load it");
    }
    static const ln_dlsym_entry fn[] = {
#define FN(f) {"MHD_" #f, offsetof(serve_mhd, f)}
        FN(start_daemon),     FN(stop_daemon),     FN(quiesce_daemon),
        FN(get_daemon_info),  FN(create_response_from_buffer),
        FN(add_response_header), FN(queue_response), FN(destroy_response),
        FN(lookup_connection_value), FN(suspend_connection), FN(resume_connection),
#undef FN
    };
    const char *missing = ln_dlsym_table(lib, fn, sizeof fn / sizeof fn[0], m);
    if (missing) {
        dlclose(lib);
        memset(m, 0, sizeof *m);
        return ln_fail(err, LN_E_SYSTEM, "no %s in %s: not the libmicrohttpd lenet was built for; "
                       "install Debian's: apt-get install libmicrohttpd12", missing, SERVE_MHD_SONAME);
    }
    m->lib = lib;
    return LN_OK;
}

void serve_mhd_close(serve_mhd *m) {
    if (m->lib) dlclose(m->lib);
    memset(m, 0, sizeof *m);
}
