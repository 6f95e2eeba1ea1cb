/* ICU's "stubdata": an empty common-data package, for the line build (build.spec).
 *
 * Qt's ICU carries 32 MB of Unicode tables (libicudata) that Qt reaches only for collation and
 * legacy text codecs, which the station never uses: its text, number formats and time zones come
 * from Qt's own tables. ICU ships this same stub for builds that load no data; with it, an ICU
 * call that needs data returns U_MISSING_RESOURCE_ERROR instead of crashing.
 * Compiled by build.spec with -DICU_DATA_SYMBOL=icudt<version>_dat (the version of Qt's ICU). */
#include <stdint.h>

struct icu_common_data {
    uint16_t header_size;
    uint8_t magic1, magic2;
    uint16_t info_size, reserved;
    uint8_t is_big_endian, charset_family, sizeof_uchar, reserved_byte;
    uint8_t format[4], format_version[4], data_version[4];
    uint8_t padding[8];
    uint32_t count, reserved_word;
    uint32_t toc[4];
};

__attribute__((visibility("default"))) const struct icu_common_data ICU_DATA_SYMBOL = {
    32, 0xda, 0x27,                       /* header size, magic: what udata.cpp checks */
    20, 0, 0, 0, 2, 0,                    /* UDataInfo: little endian, ASCII family, 2-byte UChar */
    {0x43, 0x6d, 0x6e, 0x44},             /* "CmnD": a common data package ... */
    {1, 0, 0, 0}, {0, 0, 0, 0}, {0}, 0,   /* ... holding no items */
    0, {0, 0, 0, 0}};
