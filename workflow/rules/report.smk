# Aggregation and REPORT.md (local: it only reads small files). Its figure and tables also go into
# Snakemake's HTML report.


localrules:
    report,


rule report:
    input:
        summaries=PLAN.attack_summaries(),
        models=PLAN.model_metrics(),
        gradients=PLAN.gradient_summaries(),
        adaptive=PLAN.adaptive_summaries(),
        robustness=PLAN.robustness_summaries(),
        data=PLAN.data_manifests(),
        seeds=PLAN.seed_attack_summaries(),  # further seeds' replicas
        length=PLAN.length_outputs(),  # training-length study (length.smk)
        sections=SEAM.section_files(),  # the other reproductions' sections, appended (workflow/rules/papers.smk)
    output:
        report=PLAN.report,
        # Marked for Snakemake's own HTML report (`snakemake --report results/<run_name>/report.html`), with the
        # captions in workflow/report/ (paths relative to this file).
        figure=report(f"{R}/fig7.png", caption="../report/fig7.rst", category="Fig. 7"),
        table=report(f"{R}/fig7.csv", caption="../report/fig7_table.rst", category="Fig. 7"),
        numerics=report(f"{R}/numerics.csv", caption="../report/numerics.rst", category="Attack numerics"),
        gradients=report(f"{R}/gradients.csv", caption="../report/gradients.rst", category="Input gradients"),
        adaptive=report(f"{R}/adaptive.png", caption="../report/adaptive.rst", category="Adaptive attacks"),
        adaptive_table=report(f"{R}/adaptive.csv", caption="../report/adaptive_table.rst", category="Adaptive attacks"),
        robustness=report(f"{R}/robustness.png", caption="../report/robustness.rst", category="Robustness"),
        robustness_table=report(
            f"{R}/robustness.csv", caption="../report/robustness_table.rst", category="Robustness"
        ),
        accuracy=report(f"{R}/accuracy.png", caption="../report/accuracy.rst", category="Accuracy"),
        accuracy_table=report(f"{R}/accuracy.csv", caption="../report/accuracy_table.rst", category="Accuracy"),
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
