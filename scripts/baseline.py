"""Rule baseline: count a popularity or co-occurrence baseline on the training sequences."""
from track2vec.atomic import write_text
from track2vec.pipeline import baseline_step
from track2vec.scripting import run


def main(smk, log):
    i, p, o = smk.input, smk.params, smk.output
    done = baseline_step(i.train, i.vocab, p.method, p.window, o.model, log)
    write_text(o.log, f"epoch\tseconds\n0\t{done['seconds']:.3f}\n")


run(main, snakemake)  # noqa: F821 - injected by Snakemake
