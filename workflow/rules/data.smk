# Data: check the staged files by content (or download them where there is internet) and record their md5s.
# A localrule: cluster compute nodes are often offline, the login node is not.


localrules:
    prepare_data,


rule prepare_data:
    output:
        f"{R}/data/{{dataset}}.json",
    log:
        f"{R}/logs/prepare_data/{{dataset}}.log",
    params:
        download="--download" if config["download"] else "--no-download",
        verify=lambda w: "--verify-checksums" if verify_checksums_for(config, w.dataset) else "--no-verify-checksums",
        samples=lambda w: int(config["datasets"][w.dataset]["attack"]["samples"]),
        py=python_command,
        data=data_dir,
    shell:
        "{params.py} prepare-data --dataset {wildcards.dataset} --data-dir {params.data:q} {params.download}"
        " {params.verify} --attack-samples {params.samples} --out {output} > {log} 2>&1"
