# REPORT.md (local: it only reads small files): one rule for every reproduction. The report command asks each
# enabled reproduction for its section (src/distillbench/papers/document.py); the files each one writes beside
# it (figures, tables) are this rule's outputs too, those with a caption also in Snakemake's HTML report
# (`snakemake --report results/<run_name>/report.html`; captions in workflow/report/).


localrules:
    report,


rule report:
    input:
        SEAM.report_inputs(),
    output:
        report=PLAN.report,
        **SEAM.report_outputs(report, directory),
    log:
        f"{R}/logs/report.log",
    params:
        config=lambda w: json.dumps(config, sort_keys=True, default=str),
        configfiles=" ".join(str(p) for p in workflow.configfiles),
        py=python_command,
        results=lambda w, output: os.path.dirname(output.report),  # results/<run_name>
    shell:
        "{params.py} report --config {params.config:q} --config-files {params.configfiles}"
        " --results-dir {params.results} --out {output.report} > {log} 2>&1"
