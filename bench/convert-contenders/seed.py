# The seed's approach: json.loads per line, keep the tags of category "0" (and, for the API schema,
# tag_string_general), one comma-joined line a post. Usage: python3 seed.py OUT FILE...
import json
import os
import resource
import sys

out_path, files = sys.argv[1], sys.argv[2:]
written = 0
with open(out_path, "w", encoding="utf-8") as out:
    for path in files:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                post = json.loads(line)
                if "tags" in post:
                    tags = [t["name"] for t in post["tags"] if str(t["category"]) == "0"]
                else:
                    tags = post.get("tag_string_general", "").split()
                if tags:
                    out.write(",".join(tags) + "\n")
                    written += 1
print(written)
if os.environ.get("BENCH_RSS_FILE"):
    with open(os.environ["BENCH_RSS_FILE"], "w") as f:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        report = {"maxRssKib": usage.ru_maxrss, "cpuMicroseconds": round((usage.ru_utime + usage.ru_stime) * 1e6)}
        f.write(json.dumps(report))
