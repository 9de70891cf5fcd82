# Aggregation and REPORT.md (local: it only reads small files).


localrules:
    report,


rule report:
    input:
        summaries=PLAN.attack_summaries(),
        models=PLAN.model_metrics(),
        data=PLAN.data_manifests(),
    output:
        report=PLAN.report,
        figure=f"{R}/fig7.png",
        table=f"{R}/fig7.csv",
        numerics=f"{R}/numerics.csv",
    log:
        f"{R}/logs/report.log",
    params:
        config=lambda w: json.dumps(config, sort_keys=True, default=str),
        configfiles=" ".join(str(p) for p in workflow.configfiles),
        py=python_command,
        results=lambda w, output: os.path.dirname(output.table),  # results/<run_name>
    shell:
        "{params.py} report --config {params.config:q} --config-files {params.configfiles}"
        " --results-dir {params.results} --out {output.report} --figure {output.figure} --table {output.table}"
        " > {log} 2>&1"
