#include <stdint.h>
#include <tiffio.h>

/* TIFFSetField/TIFFGetField are variadic and so unavailable in Swift: typed wrappers. */
static inline int tiffw_set_u16(TIFF *t, uint32_t tag, uint16_t v) { return TIFFSetField(t, tag, (int)v); }
static inline int tiffw_set_u32(TIFF *t, uint32_t tag, uint32_t v) { return TIFFSetField(t, tag, v); }
static inline int tiffw_get_u16(TIFF *t, uint32_t tag, uint16_t *v) { return TIFFGetField(t, tag, v); }
static inline int tiffw_get_u32(TIFF *t, uint32_t tag, uint32_t *v) { return TIFFGetField(t, tag, v); }
static inline int tiffw_get_u16_defaulted(TIFF *t, uint32_t tag, uint16_t *v) { return TIFFGetFieldDefaulted(t, tag, v); }

/* Per-handle message capture: libtiff's errors and warnings for one TIFF* go into a caller-owned
   buffer instead of stderr, so concurrent decodes keep their messages apart and nothing is printed
   over the screen. Returning 1 tells libtiff the message was handled (global handlers are skipped). */
#include <stdarg.h>
#include <stdio.h>
typedef struct { char text[1024]; size_t length; int count; } tiffw_messages;
static int tiffw_collect(TIFF *t, void *user, const char *module, const char *fmt, va_list ap) {
    (void)t;
    tiffw_messages *m = (tiffw_messages *)user;
    m->count++;
    size_t room = sizeof m->text - m->length;
    if (room < 8) return 1;
    int n = 0;
    if (m->length > 0) { m->text[m->length++] = '\n'; room--; }
    if (module && *module) {
        n = snprintf(m->text + m->length, room, "%s: ", module);
        if (n > 0) { size_t k = (size_t)n < room ? (size_t)n : room - 1; m->length += k; room -= k; }
    }
    n = vsnprintf(m->text + m->length, room, fmt, ap);
    if (n > 0) m->length += (size_t)n < room ? (size_t)n : room - 1;
    return 1;
}
static inline TIFF *tiffw_open(const char *path, const char *mode, tiffw_messages *errors, tiffw_messages *warnings) {
    TIFFOpenOptions *o = TIFFOpenOptionsAlloc();
    if (!o) return NULL;
    TIFFOpenOptionsSetErrorHandlerExtR(o, tiffw_collect, errors);
    TIFFOpenOptionsSetWarningHandlerExtR(o, tiffw_collect, warnings);
    TIFF *t = TIFFOpenExt(path, mode, o);
    TIFFOpenOptionsFree(o);
    return t;
}

/* Process-wide handlers (messages libtiff cannot attach to a handle): formatted here, because
   Swift cannot write a C function taking va_list, then passed to a Swift sink. */
typedef void (*tiffw_sink)(const char *text);
static tiffw_sink tiffw_global_sink = 0;
static void tiffw_global_handler(const char *module, const char *fmt, va_list ap) {
    char text[512];
    int n = (module && *module) ? snprintf(text, sizeof text, "%s: ", module) : 0;
    if (n < 0 || (size_t)n >= sizeof text) n = 0;
    vsnprintf(text + n, sizeof text - (size_t)n, fmt, ap);
    if (tiffw_global_sink) tiffw_global_sink(text);
}
static inline void tiffw_install_global_handlers(tiffw_sink sink) {
    tiffw_global_sink = sink;
    TIFFSetErrorHandler(tiffw_global_handler);
    TIFFSetWarningHandler(tiffw_global_handler);
}
