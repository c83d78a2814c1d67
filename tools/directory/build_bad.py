#!/usr/bin/env python3
"""Writes testdata/directory-bad.csv: typical administrator mistakes, one per
line, described in testdata/directory-bad.README. Run from the repo root:

    python3 tools/directory/build_bad.py
"""
H = ('kind,external_id,name_kk,name_ru,name_en,region,locality,level,address_kk,address_ru,address_en,'
     'lat,lon,phone,hours,website,ethnic_group,languages')


def row(kind='house', ext='bad-ok', kk='Тест үйі', ru='Тестовый дом', en='Test house', region='astana',
        loc='Astana', level='', lat='51.1801', lon='71.4460', phone='', hours='Mon–Fri 09:00–18:00',
        web='', eg='', langs='kk|ru'):
    return ','.join([kind, ext, kk, ru, en, region, loc, level, '', '', '', lat, lon, phone, hours, web, eg, langs])


lines = [
    '\ufeff' + H,                                                         # 1 header with BOM
    row(ext='bad-ok-1'),                                                  # 2 valid
    row(ext='bad-noname', kk='', ru='', en=''),                           # 3 no name
    row(ext='bad-swapped', lat='71.4460', lon='51.1801'),                 # 4 lat/lon swapped
    row(ext='bad-zero', lat='0', lon='0'),                                # 5 lat 0
    row(kind='museum', ext='bad-kind'),                                   # 6 unknown kind
    row(ext='bad-region', region='almaty-oblast'),                        # 7 unknown region
    row(ext='bad-phone', phone='+7 12345'),                               # 8 bad phone
    row(ext='bad-dup', phone='+7 000 000 00 01'),                         # 9 valid (fictional number)
    row(ext='bad-dup', en='Test house again'),                            # 10 duplicate external id
    ','.join(row(ext='bad-short').split(',')[:17]),                       # 11 17 columns
    row(ext='bad-semicolon').replace(',', ';'),                           # 12 semicolon delimiter
    row(ext='bad-spaces  ', kk='Тест үйі  ', region='shymkent ', loc='Shymkent ',
        lat=' 42.3099', lon='69.6004 '),                                  # 13 trailing/leading spaces
    row(kind='council_accord', ext='bad-nolevel'),                        # 14 council without level
    row(kind='association', ext='bad-level', level='city', eg='tatar'),   # 15 level on a non-council
    row(ext='bad-comma', lat='"51,1801"', lon='"71,4460"'),               # 16 decimal comma
    row(ext='bad-sea', lat='42.5', lon='50.5'),                           # 17 in the Caspian sea
    row(ext=''),                                                          # 18 no external id
    row(ext='bad-web', web='www.example'),                                # 19 website without scheme
    row(kind='association', ext='bad-ethnic', eg='Русские'),              # 20 ethnic group not a code
    row(ext='bad-lang', langs='Kazakh'),                                  # 21 language not a code
    row(ext='bad-latnum', lat='abc'),                                     # 22 lat not a number
    '',                                                                   # 23 blank line
    row(ext='bad-quote', en='"Test house'),                               # 24 unclosed quote (last line)
]
with open('testdata/directory-bad.csv', 'w', encoding='utf-8', newline='') as f:
    f.write('\n'.join(lines) + '\n')
