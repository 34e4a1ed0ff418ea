"""The eval: question sets, and a runner that measures retrieval, answers, citations and abstention.

    qa eval                      # eval/questions.jsonl -> eval/out/report.{md,json}, scores.png
    qa eval --compare A.json B.json
    qa eval --check              # exit 1 when a metric falls below eval/thresholds.json
"""
