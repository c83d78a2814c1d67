#!/usr/bin/env python3
"""Builds data/directory-sample.csv, the illustrative sample directory.

    python3 tools/directory/build_sample.py > data/directory-sample.csv   (from the repo root)

Places are put at the coordinates of their settlement in data/gazetteer.csv
(a small deterministic offset keeps points of one town apart). No phone
numbers, street addresses or personal names are invented: those columns are
left empty. Every external_id starts with "sample-", which marks the row as
sample data for the importer.
"""
import csv, sys

gaz = {}
for r in csv.DictReader(open('data/gazetteer.csv', encoding='utf-8')):
    gaz.setdefault((r['name_en'], r['region']), r)
regions = {r['code']: r for r in csv.DictReader(open('data/regions.csv', encoding='utf-8'))}

HEADER = ['kind', 'external_id', 'name_kk', 'name_ru', 'name_en', 'region', 'locality', 'level',
          'address_kk', 'address_ru', 'address_en', 'lat', 'lon', 'phone', 'hours', 'website',
          'ethnic_group', 'languages']
OFFICE_HOURS = ''  # unknown: never invented (hours are free text, shown as written)
rows = []
count = {}


def town(en, region):
    s = gaz.get((en, region))
    if s is None:
        sys.exit(f'{en} ({region}) is not in data/gazetteer.csv')
    return s


def add(kind, slug, kk, ru, en, region, locality, level='', hours='', eg='', langs='kk|ru', website=''):
    s = town(locality, region)
    n = count.get((locality, region), 0)
    count[(locality, region)] = n + 1
    # spread points of one town on a small spiral, at most ~1.5 km away
    d = 0.0025 * (n % 6)
    dlat = d * [0, 1, 0, -1, 1, -1][n % 6]
    dlon = d * [0, 0, 1, 0, 1, -1][n % 6]
    rows.append({'kind': kind, 'external_id': f'sample-{kind}-{slug}', 'name_kk': kk, 'name_ru': ru,
                 'name_en': en, 'region': region, 'locality': locality, 'level': level,
                 'lat': f"{float(s['lat']) + dlat:.5f}", 'lon': f"{float(s['lon']) + dlon:.5f}",
                 'hours': hours, 'website': website, 'ethnic_group': eg, 'languages': langs})


def center(code):
    r = regions[code]
    return r['center_en'], r['center_kk'], r['center_ru']


# Houses of Friendship: one in each regional centre and city of republican significance.
for code in regions:
    en, kk, ru = center(code)
    add('house', code, f'Достық үйі ({kk})', f'Дом дружбы ({ru})', f'House of Friendship ({en})',
        code, en, hours=OFFICE_HOURS, langs='kk|ru|en' if code in ('astana', 'almaty-city', 'shymkent') else 'kk|ru',
        website='https://assembly.kz' if code == 'astana' else '')

# Mediation offices inside 17 Houses of Friendship (not yet in the three regions formed in 2022).
for code in regions:
    if code in ('abai', 'zhetysu', 'ulytau'):
        continue
    en, kk, ru = center(code)
    add('mediation_office', code, f'Медиация кабинеті, Достық үйі ({kk})',
        f'Кабинет медиации Дома дружбы ({ru})', f'Mediation office, House of Friendship ({en})',
        code, en, hours=OFFICE_HOURS)

LEVEL_KK = {'village': 'ауыл', 'district': 'аудан', 'city': 'қала', 'region': 'облыс'}
LEVEL_RU = {'village': 'село', 'district': 'район', 'city': 'город', 'region': 'область'}
LEVEL_EN = {'village': 'village', 'district': 'district', 'city': 'city', 'region': 'region'}


def council(kind, names, region, en, level):
    s = town(en, region)
    kkn, run, enn = names
    if level == 'region':
        r = regions[region]
        kk, ru, enx = f"{kkn} — {r['name_kk']}", f"{run} — {r['name_ru']}", f"{enn} — {r['name_en']}"
    else:
        kk = f"{kkn} — {s['name_kk']} ({LEVEL_KK[level]})"
        ru = f"{run} — {s['name_ru']} ({LEVEL_RU[level]})"
        enx = f"{enn} — {s['name_en']} ({LEVEL_EN[level]})"
    # A renamed settlement keeps the external_id it was first imported
    # with, so that importing the sample again updates the row.
    slug = FIRST_SLUG.get(en, en.lower().replace(" ", "-"))
    add(kind, f'{region}-{level}-{slug}', kk, ru, enx, region, en, level=level)


ACCORD = ('Қоғамдық келісім кеңесі', 'Совет общественного согласия', 'Council of Public Accord')
MOTHERS = ('Аналар кеңесі', 'Совет матерей', 'Council of Mothers')
# (region, settlement, level)
# Settlements renamed after the sample was first published: their first
# slug (Aksukent was GeoNames' "Aksu" of Turkistan region).
FIRST_SLUG = {'Aksukent': 'aksu'}

ACCORD_AT = [
    ('astana', 'Astana', 'city'), ('almaty-city', 'Almaty', 'city'), ('shymkent', 'Shymkent', 'city'),
    ('abai', 'Semey', 'region'), ('abai', 'Ayagoz', 'district'), ('abai', 'Kurchatov', 'city'), ('abai', 'Karaul', 'village'),
    ('akmola', 'Kokshetau', 'region'), ('akmola', 'Shchuchinsk', 'district'), ('akmola', 'Kosshy', 'city'), ('akmola', 'Zhaksy', 'village'),
    ('aktobe', 'Aktobe', 'region'), ('aktobe', 'Kandyagash', 'city'), ('aktobe', 'Martuk', 'village'),
    ('almaty', 'Konaev', 'region'), ('almaty', 'Kaskelen', 'city'), ('almaty', 'Esik', 'district'), ('almaty', 'Shonzhy', 'village'),
    ('almaty', 'Boralday', 'village'),
    ('atyrau', 'Atyrau', 'region'), ('atyrau', 'Kulsary', 'city'), ('atyrau', 'Makhambet', 'village'),
    ('east-kazakhstan', 'Oskemen', 'region'), ('east-kazakhstan', 'Ridder', 'city'), ('east-kazakhstan', 'Zaysan', 'district'),
    ('east-kazakhstan', 'Glubokoye', 'village'),
    ('zhambyl', 'Taraz', 'region'), ('zhambyl', 'Korday', 'district'), ('zhambyl', 'Shu', 'city'), ('zhambyl', 'Sarykemer', 'village'),
    ('zhetysu', 'Taldykorgan', 'region'), ('zhetysu', 'Zharkent', 'city'), ('zhetysu', 'Ushtobe', 'city'), ('zhetysu', 'Saryozek', 'village'),
    ('west-kazakhstan', 'Oral', 'region'), ('west-kazakhstan', 'Aksay', 'city'), ('west-kazakhstan', 'Peremetnoye', 'village'),
    ('karaganda', 'Karaganda', 'region'), ('karaganda', 'Temirtau', 'city'), ('karaganda', 'Balkhash', 'city'), ('karaganda', 'Osakarovka', 'district'),
    ('kostanay', 'Kostanay', 'region'), ('kostanay', 'Rudny', 'city'), ('kostanay', 'Sarykol', 'village'),
    ('kyzylorda', 'Kyzylorda', 'region'), ('kyzylorda', 'Aral', 'district'), ('kyzylorda', 'Shieli', 'village'),
    ('mangystau', 'Aktau', 'region'), ('mangystau', 'Zhanaozen', 'city'), ('mangystau', 'Shetpe', 'village'),
    ('pavlodar', 'Pavlodar', 'region'), ('pavlodar', 'Ekibastuz', 'city'), ('pavlodar', 'Zhelezinka', 'village'),
    ('north-kazakhstan', 'Petropavl', 'region'), ('north-kazakhstan', 'Bulayevo', 'district'), ('north-kazakhstan', 'Smirnovo', 'village'),
    ('turkistan', 'Turkistan', 'region'), ('turkistan', 'Saryagash', 'district'), ('turkistan', 'Sayram', 'village'),
    ('turkistan', 'Aksukent', 'village'), ('turkistan', 'Lenger', 'city'), ('turkistan', 'Karabulak', 'village'),
    ('turkistan', 'Temirlan', 'village'), ('turkistan', 'Kazygurt', 'district'),
    ('ulytau', 'Zhezkazgan', 'region'), ('ulytau', 'Satbayev', 'city'), ('ulytau', 'Karazhal', 'city'),
]
MOTHERS_AT = [
    ('astana', 'Astana', 'city'), ('almaty-city', 'Almaty', 'city'), ('shymkent', 'Shymkent', 'city'),
    ('abai', 'Semey', 'region'), ('abai', 'Urzhar', 'village'),
    ('akmola', 'Kokshetau', 'region'), ('akmola', 'Atbasar', 'district'),
    ('aktobe', 'Aktobe', 'region'), ('aktobe', 'Shalkar', 'district'),
    ('almaty', 'Konaev', 'region'), ('almaty', 'Talgar', 'city'), ('almaty', 'Uzynagash', 'village'),
    ('atyrau', 'Atyrau', 'region'), ('atyrau', 'Makat', 'village'),
    ('east-kazakhstan', 'Oskemen', 'region'), ('east-kazakhstan', 'Altay', 'city'),
    ('zhambyl', 'Taraz', 'region'), ('zhambyl', 'Merke', 'village'), ('zhambyl', 'Kulan', 'village'),
    ('zhetysu', 'Taldykorgan', 'region'), ('zhetysu', 'Usharal', 'district'),
    ('west-kazakhstan', 'Oral', 'region'), ('west-kazakhstan', 'Zhanibek', 'village'),
    ('karaganda', 'Karaganda', 'region'), ('karaganda', 'Saran', 'city'), ('karaganda', 'Shakhtinsk', 'city'),
    ('kostanay', 'Kostanay', 'region'), ('kostanay', 'Lisakovsk', 'city'),
    ('kyzylorda', 'Kyzylorda', 'region'), ('kyzylorda', 'Zhanakorgan', 'district'),
    ('mangystau', 'Aktau', 'region'), ('mangystau', 'Beyneu', 'district'),
    ('pavlodar', 'Pavlodar', 'region'), ('pavlodar', 'Aksu', 'city'),
    ('north-kazakhstan', 'Petropavl', 'region'), ('north-kazakhstan', 'Taiynsha', 'district'),
    ('turkistan', 'Turkistan', 'region'), ('turkistan', 'Sayram', 'village'), ('turkistan', 'Lenger', 'city'),
    ('turkistan', 'Zhetisay', 'district'), ('turkistan', 'Karabulak', 'village'), ('turkistan', 'Shayan', 'village'),
    ('ulytau', 'Zhezkazgan', 'region'),
]
for region, en, level in ACCORD_AT:
    council('council_accord', ACCORD, region, en, level)
for region, en, level in MOTHERS_AT:
    council('council_mothers', MOTHERS, region, en, level)

# Ethno-cultural associations: (ethnic group code, kk adjective, ru adjective (neuter), en adjective)
ETHNIC = {
    'russian': ('орыс', 'Русское', 'Russian'), 'uzbek': ('өзбек', 'Узбекское', 'Uzbek'),
    'ukrainian': ('украин', 'Украинское', 'Ukrainian'), 'uighur': ('ұйғыр', 'Уйгурское', 'Uighur'),
    'german': ('неміс', 'Немецкое', 'German'), 'tatar': ('татар', 'Татарское', 'Tatar'),
    'korean': ('корей', 'Корейское', 'Korean'), 'azerbaijani': ('әзербайжан', 'Азербайджанское', 'Azerbaijani'),
    'turkish': ('түрік', 'Турецкое', 'Turkish'), 'dungan': ('дүнген', 'Дунганское', 'Dungan'),
    'belarusian': ('беларусь', 'Белорусское', 'Belarusian'), 'polish': ('поляк', 'Польское', 'Polish'),
    'chechen': ('шешен', 'Чеченское', 'Chechen'), 'kurdish': ('күрд', 'Курдское', 'Kurdish'),
    'tajik': ('тәжік', 'Таджикское', 'Tajik'), 'bashkir': ('башқұрт', 'Башкирское', 'Bashkir'),
    'greek': ('грек', 'Греческое', 'Greek'), 'jewish': ('еврей', 'Еврейское', 'Jewish'),
    'armenian': ('армян', 'Армянское', 'Armenian'), 'kyrgyz': ('қырғыз', 'Кыргызское', 'Kyrgyz'),
}
ASSOC_AT = [
    ('russian', 'astana', 'Astana'), ('russian', 'north-kazakhstan', 'Petropavl'), ('russian', 'east-kazakhstan', 'Oskemen'),
    ('russian', 'kostanay', 'Kostanay'), ('russian', 'pavlodar', 'Pavlodar'), ('russian', 'west-kazakhstan', 'Oral'),
    ('uzbek', 'shymkent', 'Shymkent'), ('uzbek', 'turkistan', 'Turkistan'), ('uzbek', 'turkistan', 'Sayram'),
    ('uzbek', 'turkistan', 'Saryagash'), ('uzbek', 'turkistan', 'Zhetisay'), ('uzbek', 'almaty-city', 'Almaty'),
    ('ukrainian', 'north-kazakhstan', 'Petropavl'), ('ukrainian', 'kostanay', 'Kostanay'), ('ukrainian', 'aktobe', 'Aktobe'),
    ('ukrainian', 'astana', 'Astana'), ('ukrainian', 'karaganda', 'Karaganda'),
    ('uighur', 'almaty-city', 'Almaty'), ('uighur', 'almaty', 'Shonzhy'), ('uighur', 'zhetysu', 'Zharkent'),
    ('uighur', 'almaty', 'Esik'), ('uighur', 'astana', 'Astana'),
    ('german', 'kostanay', 'Kostanay'), ('german', 'pavlodar', 'Pavlodar'), ('german', 'karaganda', 'Karaganda'),
    ('german', 'astana', 'Astana'), ('german', 'east-kazakhstan', 'Oskemen'), ('german', 'akmola', 'Kokshetau'),
    ('tatar', 'north-kazakhstan', 'Petropavl'), ('tatar', 'west-kazakhstan', 'Oral'), ('tatar', 'abai', 'Semey'),
    ('korean', 'almaty-city', 'Almaty'), ('korean', 'zhetysu', 'Ushtobe'), ('korean', 'kyzylorda', 'Kyzylorda'),
    ('korean', 'zhambyl', 'Taraz'), ('korean', 'astana', 'Astana'),
    ('azerbaijani', 'shymkent', 'Shymkent'), ('azerbaijani', 'zhambyl', 'Taraz'), ('azerbaijani', 'atyrau', 'Atyrau'),
    ('turkish', 'zhambyl', 'Taraz'), ('turkish', 'almaty', 'Talgar'), ('turkish', 'turkistan', 'Lenger'),
    ('dungan', 'zhambyl', 'Korday'), ('dungan', 'almaty-city', 'Almaty'),
    ('belarusian', 'kostanay', 'Kostanay'), ('belarusian', 'akmola', 'Kokshetau'),
    ('polish', 'akmola', 'Kokshetau'), ('polish', 'astana', 'Astana'),
    ('chechen', 'pavlodar', 'Pavlodar'), ('chechen', 'karaganda', 'Karaganda'), ('chechen', 'almaty-city', 'Almaty'),
    ('kurdish', 'almaty-city', 'Almaty'), ('kurdish', 'turkistan', 'Sayram'),
    ('tajik', 'turkistan', 'Saryagash'), ('bashkir', 'aktobe', 'Aktobe'), ('greek', 'almaty-city', 'Almaty'),
    ('jewish', 'almaty-city', 'Almaty'), ('armenian', 'astana', 'Astana'), ('armenian', 'mangystau', 'Aktau'),
    ('kyrgyz', 'zhambyl', 'Taraz'), ('kyrgyz', 'ulytau', 'Zhezkazgan'),
]
for eg, region, en in ASSOC_AT:
    s = town(en, region)
    kk, ru, ena = ETHNIC[eg]
    add('association', f"{eg}-{region}-{en.lower().replace(' ', '-')}",
        f"{kk[0].upper() + kk[1:]} этномәдени бірлестігі ({s['name_kk']})",
        f"{ru} этнокультурное объединение ({s['name_ru']})",
        f"{ena} ethno-cultural association ({s['name_en']})", region, en, eg=eg, langs='kk|ru')

# Youth organisations of the Assembly's youth movement "Zhangyru Zholy".
for region, en in [('astana', 'Astana'), ('almaty-city', 'Almaty'), ('shymkent', 'Shymkent'),
                   ('karaganda', 'Karaganda'), ('east-kazakhstan', 'Oskemen'), ('turkistan', 'Turkistan'),
                   ('pavlodar', 'Pavlodar')]:
    s = town(en, region)
    add('youth', f'{region}', f"«Жаңғыру жолы» жастар қозғалысы ({s['name_kk']})",
        f"Молодёжное движение «Жаңғыру жолы» ({s['name_ru']})",
        f"Zhangyru Zholy youth movement ({s['name_en']})", region, en, langs='kk|ru|en')

# The four state ethnic theatres (real institutions; no address given here).
add('theatre', 'uighur-almaty', 'Мемлекеттік республикалық академиялық ұйғыр музыкалық комедия театры',
    'Государственный республиканский академический уйгурский театр музыкальной комедии',
    'State Republican Academic Uighur Theatre of Musical Comedy', 'almaty-city', 'Almaty', eg='uighur', langs='kk|ru')
add('theatre', 'korean-almaty', 'Мемлекеттік республикалық академиялық корей музыкалық комедия театры',
    'Государственный республиканский академический корейский театр музыкальной комедии',
    'State Republican Academic Korean Theatre of Musical Comedy', 'almaty-city', 'Almaty', eg='korean', langs='kk|ru')
add('theatre', 'german-almaty', 'Мемлекеттік республикалық неміс драма театры',
    'Государственный республиканский немецкий драматический театр',
    'State Republican German Drama Theatre', 'almaty-city', 'Almaty', eg='german', langs='kk|ru')
add('theatre', 'uzbek-shymkent', 'Өзбек драма театры (Шымкент)', 'Узбекский драматический театр (Шымкент)',
    'Uzbek Drama Theatre (Shymkent)', 'shymkent', 'Shymkent', eg='uzbek', langs='kk|ru')

ids = [r['external_id'] for r in rows]
assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
w = csv.DictWriter(sys.stdout, HEADER, lineterminator='\n', restval='')
w.writeheader()
w.writerows(rows)
