#define NCURSES_WIDECHAR 1   /* required, else no cchar_t / mvadd_wch / get_wch */
#include <wchar.h>
#include <locale.h>
#include <langinfo.h>
#include <curses.h>

/* C globals and macros Swift cannot read under strict concurrency, as getters. */
static inline WINDOW *ncw_stdscr(void) { return stdscr; }
static inline int ncw_colors(void) { return COLORS; }
static inline int ncw_color_pairs(void) { return COLOR_PAIRS; }
static inline int ncw_lines(void) { return LINES; }
static inline int ncw_cols(void) { return COLS; }
static inline attr_t ncw_a_bold(void) { return A_BOLD; }
static inline attr_t ncw_a_reverse(void) { return A_REVERSE; }
static inline attr_t ncw_a_underline(void) { return A_UNDERLINE; }
static inline attr_t ncw_a_dim(void) { return A_DIM; }
static inline int ncw_setcell(cchar_t *c, wchar_t ch, attr_t a, int pair) {
    wchar_t s[2] = { ch, 0 };  /* pair via opts, so pairs > 32767 work */
    return setcchar(c, s, a, (short)(pair > 0x7fff ? 0 : pair), &pair);
}

/* Mouse masks are built by macros Swift cannot import. Motion reports (drags) come only while a
   button is held, once xterm's 1002 mode is on. */
static inline mmask_t ncw_mouse_mask_used(void) {
    return BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED | REPORT_MOUSE_POSITION;
}
static inline int ncw_mouse_is_motion(mmask_t m) { return (m & REPORT_MOUSE_POSITION) != 0; }
static inline int ncw_mouse_is_wheel_up(mmask_t m) { return (m & BUTTON4_PRESSED) != 0; }
static inline int ncw_mouse_is_wheel_down(mmask_t m) { return (m & BUTTON5_PRESSED) != 0; }
static inline int ncw_mouse_is_click(mmask_t m) { return (m & (BUTTON1_PRESSED | BUTTON1_CLICKED)) != 0; }
