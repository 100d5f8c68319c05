"""QIDO-RS with dicomweb-client.

Usage: qido.py BASE_URL QUERIES_JSON

QUERIES_JSON is a list of objects with "level" ("studies", "series" or
"instances") and optional "study", "series", "filters", "limit",
"offset", "fields" and "fuzzy". Prints the list of result lists (DICOM
JSON) on stdout, one per query, in order.
"""
import json
import sys

from _client import client as make_client


def main() -> None:
    base, queries = sys.argv[1], json.loads(sys.argv[2])
    client = make_client(base)
    results = []
    for q in queries:
        kwargs = {
            "search_filters": q.get("filters"),
            "limit": q.get("limit"),
            "offset": q.get("offset"),
            "fields": q.get("fields"),
            "fuzzymatching": q.get("fuzzy"),
        }
        level = q["level"]
        if level == "studies":
            found = client.search_for_studies(**kwargs)
        elif level == "series":
            found = client.search_for_series(
                study_instance_uid=q.get("study"), **kwargs
            )
        elif level == "instances":
            found = client.search_for_instances(
                study_instance_uid=q.get("study"),
                series_instance_uid=q.get("series"),
                **kwargs,
            )
        else:
            raise SystemExit(f"unknown level {level!r}")
        results.append(found)
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
