# Aggregation and REPORT.md (local: it only reads small files). Its figure and tables also go into
# Snakemake's HTML report.


localrules:
    report,


rule report:
    input:
        summaries=PLAN.attack_summaries(),
        models=PLAN.model_metrics(),
        gradients=PLAN.gradient_summaries(),
        data=PLAN.data_manifests(),
        sections=SEAM.section_files(),  # the other reproductions' sections, appended (workflow/rules/papers.smk)
    output:
        report=PLAN.report,
        # Marked for Snakemake's own HTML report (`snakemake --report results/<run_name>/report.html`), with the
        # captions in workflow/report/ (paths relative to this file).
        figure=report(f"{R}/fig7.png", caption="../report/fig7.rst", category="Fig. 7"),
        table=report(f"{R}/fig7.csv", caption="../report/fig7_table.rst", category="Fig. 7"),
        numerics=report(f"{R}/numerics.csv", caption="../report/numerics.rst", category="Attack numerics"),
        gradients=report(f"{R}/gradients.csv", caption="../report/gradients.rst", category="Input gradients"),
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
        " --sections {input.sections} > {log} 2>&1"
