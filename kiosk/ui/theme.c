/* theme.c - the three looks (see theme.h). */
#include "theme.h"

#define RGB(r, g, b)                                                                               \
	{                                                                                          \
		(r), (g), (b), 255                                                                 \
	}

static const struct ui_theme themes[UI_THEME_LAST] =
        {
                [UI_THEME_DEFAULT] =
                        {
                                .name = "default",
                                .bg = RGB(0xf6, 0xf7, 0xf9),
                                .fg = RGB(0x1a, 0x1d, 0x23),
                                .muted = RGB(0x4a, 0x50, 0x5c),
                                .panel = RGB(0xff, 0xff, 0xff),
                                .border = RGB(0x8a, 0x93, 0xa3),
                                .button_bg = RGB(0xe3, 0xe8, 0xef),
                                .button_fg = RGB(0x1a, 0x1d, 0x23),
                                .primary_bg = RGB(0x0b, 0x5c, 0xad),
                                .primary_fg = RGB(0xff, 0xff, 0xff),
                                .selected_bg = RGB(0x1f, 0x7a, 0x4a),
                                .selected_fg = RGB(0xff, 0xff, 0xff),
                                .danger_bg = RGB(0xb3, 0x26, 0x1e),
                                .danger_fg = RGB(0xff, 0xff, 0xff),
                                .disabled_bg = RGB(0xd5, 0xd8, 0xdd),
                                .disabled_fg = RGB(0x6b, 0x70, 0x7a),
                                .field_bg = RGB(0xff, 0xff, 0xff),
                                .focus = RGB(0x0b, 0x5c, 0xad),
                                .error = RGB(0xb3, 0x26, 0x1e),
                                .ok = RGB(0x1f, 0x7a, 0x4a),
                                .cap_mm = {[TEXT_BODY] = 4.0,
                                           [TEXT_BOLD] = 4.0,
                                           [TEXT_TITLE] = 6.0,
                                           [TEXT_HUGE] = 10.0},
                                .button_mm = 13.0,
                                .key_mm = 11.0,
                                .gap_mm = 2.5,
                                .border_mm = 0.5,
                        },
                [UI_THEME_HIGH_CONTRAST] =
                        {
                                .name = "high-contrast",
                                .bg = RGB(0x00, 0x00, 0x00),
                                .fg = RGB(0xff, 0xff, 0xff),
                                .muted = RGB(0xff, 0xff, 0xff),
                                .panel = RGB(0x00, 0x00, 0x00),
                                .border = RGB(0xff, 0xff, 0xff),
                                .button_bg = RGB(0x00, 0x00, 0x00),
                                .button_fg = RGB(0xff, 0xff, 0xff),
                                .primary_bg = RGB(0xff, 0xeb, 0x00),
                                .primary_fg = RGB(0x00, 0x00, 0x00),
                                .selected_bg = RGB(0xff, 0xff, 0xff),
                                .selected_fg = RGB(0x00, 0x00, 0x00),
                                .danger_bg = RGB(0xff, 0xeb, 0x00),
                                .danger_fg = RGB(0x00, 0x00, 0x00),
                                .disabled_bg = RGB(0x00, 0x00, 0x00),
                                .disabled_fg = RGB(0x9a, 0x9a, 0x9a),
                                .field_bg = RGB(0x00, 0x00, 0x00),
                                .focus = RGB(0xff, 0xeb, 0x00),
                                .error = RGB(0xff, 0xeb, 0x00),
                                .ok = RGB(0xff, 0xff, 0xff),
                                .cap_mm =
                                        {[TEXT_BODY] = 4.5,
                                         [TEXT_BOLD] = 4.5,
                                         [TEXT_TITLE] = 6.5,
                                         [TEXT_HUGE] = 10.0},
                                .button_mm = 13.0,
                                .key_mm = 11.0,
                                .gap_mm = 2.5,
                                .border_mm = 0.8,
                        },
                [UI_THEME_LARGE_TEXT] =
                        {
                                .name = "large-text",
                                .bg = RGB(0xf6, 0xf7, 0xf9),
                                .fg = RGB(0x10, 0x12, 0x16),
                                .muted = RGB(0x30, 0x34, 0x3c),
                                .panel = RGB(0xff, 0xff, 0xff),
                                .border = RGB(0x5a, 0x63, 0x73),
                                .button_bg = RGB(0xdd, 0xe3, 0xeb),
                                .button_fg = RGB(0x10, 0x12, 0x16),
                                .primary_bg = RGB(0x0b, 0x5c, 0xad),
                                .primary_fg = RGB(0xff, 0xff, 0xff),
                                .selected_bg = RGB(0x1f, 0x7a, 0x4a),
                                .selected_fg = RGB(0xff, 0xff, 0xff),
                                .danger_bg = RGB(0xb3, 0x26, 0x1e),
                                .danger_fg = RGB(0xff, 0xff, 0xff),
                                .disabled_bg = RGB(0xd5, 0xd8, 0xdd),
                                .disabled_fg = RGB(0x55, 0x5a, 0x63),
                                .field_bg = RGB(0xff, 0xff, 0xff),
                                .focus = RGB(0x0b, 0x5c, 0xad),
                                .error = RGB(0xb3, 0x26, 0x1e),
                                .ok = RGB(0x1f, 0x7a, 0x4a),
                                .cap_mm = {[TEXT_BODY] = 5.5,
                                           [TEXT_BOLD] = 5.5,
                                           [TEXT_TITLE] = 7.5,
                                           [TEXT_HUGE] = 12.0},
                                .button_mm = 16.0,
                                .key_mm = 12.0,
                                .gap_mm = 3.0,
                                .border_mm = 0.6,
                        },
};

const struct ui_theme *ui_theme_get(enum ui_theme_id id)
{
	if (id >= UI_THEME_LAST)
		id = UI_THEME_DEFAULT;
	return &themes[id];
}

enum ui_theme_id ui_theme_choose(bool high_contrast, bool large_text)
{
	/* High contrast wins: its sizes are already above the default ones. */
	if (high_contrast)
		return UI_THEME_HIGH_CONTRAST;
	if (large_text)
		return UI_THEME_LARGE_TEXT;
	return UI_THEME_DEFAULT;
}
