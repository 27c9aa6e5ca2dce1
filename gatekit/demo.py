"""``gatekit demo``: train candidate models on the bundled real data and gate them.

1. HMDA (Boston mortgage applications): a scikit-learn logistic-regression pipeline predicting ``deny``
   from the applicant's ratios and credit history (``afam`` is not a feature; it is the sensitive
   attribute), trained on a stratified 70 % split; saved with skops; the held-out 30 % is written out.
   ``policies/loan_approval.yaml`` then loads the model, scores the held-out rows and gates it.
   ``policies/loan_approval_v2.yaml`` gates a second candidate trained on a *new version* of the HMDA
   frame: ``pirat`` renamed ``payment_income_ratio`` and ``other_debt_ratio`` (pirat - hirat) added. The
   production model is the first candidate; the schema change breaks its interface and the gate blocks.
2. elecdemand (Victoria, 2014): a gradient-boosted regressor forecasting half-hourly demand from
   temperature, work day, time of day and day of week, trained on January-October; its forecasts for
   November-December are written out and ``policies/demand_forecast.yaml`` gates them.

3. fgl (forensic glass fragments, MASS): a random forest telling six glass types apart from refractive index
   and oxide content, trained on a stratified 65 % split, against a "production" multinomial logistic
   regression; ``policies/glass_types.yaml`` gates the forest from its ``predict_proba`` (multiclass metrics,
   a per-class recall rule, and a paired comparison with production).

Everything is seeded, so the demo's decisions are reproducible. Whatever they are, they are real.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatekit.core.errors import input_error

HMDA_FEATURES_NUM = ["pirat", "hirat", "lvrat", "chist", "mhist", "unemp"]
HMDA_FEATURES_CAT = ["phist", "selfemp", "insurance", "condomin", "single", "hschool"]
SEED = 20261129


def find_root(root: Path | None) -> Path:
    """Locate the folder holding ``data/`` and ``policies/`` (the repository root).

    Raises
    ------
    InputError
        When neither ``root``, the current folder nor the package's parent folder has them.
    """
    candidates = [root] if root else [Path.cwd(), Path(__file__).resolve().parent.parent]
    for c in candidates:
        if c and (c / "policies" / "loan_approval.yaml").is_file() and (c / "data" / "hmda" / "hmda.csv").is_file():
            return c.resolve()
    raise input_error("cannot find data/hmda/hmda.csv and policies/loan_approval.yaml; run `gatekit demo` "
                      "from the repository root or pass --root")


def train_hmda(root: Path, artifacts: Path) -> dict[str, Any]:
    """Train the HMDA candidate; write ``hmda_candidate.skops`` and ``hmda_holdout.csv``."""
    import pandas as pd
    import skops.io as sio
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    df = pd.read_csv(root / "data" / "hmda" / "hmda.csv")
    train, hold = train_test_split(df, test_size=0.3, random_state=SEED, stratify=df["deny"])
    model = Pipeline([
        ("prep", ColumnTransformer([
            ("num", StandardScaler(), HMDA_FEATURES_NUM),
            ("cat", OneHotEncoder(handle_unknown="ignore"), HMDA_FEATURES_CAT),
        ])),
        ("clf", LogisticRegression(max_iter=1000)),
    ])
    model.fit(train[HMDA_FEATURES_NUM + HMDA_FEATURES_CAT], train["deny"])
    sio.dump(model, artifacts / "hmda_candidate.skops")
    hold.to_csv(artifacts / "hmda_holdout.csv", index=False)
    train.to_csv(artifacts / "hmda_train.csv", index=False)  # the reference data of the data-quality rules
    return {"train_rows": len(train), "holdout_rows": len(hold)}


PRODUCTION_FEATURES_NUM = ["pirat", "hirat", "lvrat", "chist", "mhist"]
PRODUCTION_FEATURES_CAT = ["phist", "selfemp", "insurance", "single"]
CANARY_SHARE = 0.3


def train_hmda_production(root: Path, artifacts: Path) -> dict[str, Any]:
    """Train the "production" HMDA model: the one shipped earlier, on older rows and an older feature set.

    HMDA has no dates, so "older data" is the first half of the candidate's training rows in the file's
    order, and the older feature set lacks ``unemp``, ``condomin`` and ``hschool``. Writes
    ``hmda_production.skops``.
    """
    import pandas as pd
    import skops.io as sio
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    df = pd.read_csv(root / "data" / "hmda" / "hmda.csv")
    train, _ = train_test_split(df, test_size=0.3, random_state=SEED, stratify=df["deny"])
    older = train.sort_index().iloc[: len(train) // 2]
    model = Pipeline([
        ("prep", ColumnTransformer([
            ("num", StandardScaler(), PRODUCTION_FEATURES_NUM),
            ("cat", OneHotEncoder(handle_unknown="ignore"), PRODUCTION_FEATURES_CAT),
        ])),
        ("clf", LogisticRegression(max_iter=1000)),
    ])
    model.fit(older[PRODUCTION_FEATURES_NUM + PRODUCTION_FEATURES_CAT], older["deny"])
    sio.dump(model, artifacts / "hmda_production.skops")
    return {"train_rows": len(older)}


def export_onnx(model: Any, numeric: list[str], categorical: list[str], path: Path) -> None:
    """Export a fitted scikit-learn pipeline to ONNX (skl2onnx), one graph input per column.

    Numeric columns become float inputs, categorical ones string inputs, so the ONNX file names its
    features and gatekit can run it on the same evaluation rows as the skops file.
    """
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    types = ([(c, FloatTensorType([None, 1])) for c in numeric]
             + [(c, StringTensorType([None, 1])) for c in categorical])
    path.write_bytes(convert_sklearn(model, initial_types=types, target_opset=17).SerializeToString())


def hmda_rollout(artifacts: Path, key: Any) -> dict[str, Any]:
    """Export both HMDA models to ONNX and write a simulated canary traffic log.

    Writes ``hmda_candidate.onnx`` and ``hmda_production.onnx`` (skl2onnx, one input per column) and
    ``hmda_canary_log.csv``: every held-out application, routed at random to the candidate (30 %) or to
    production (70 %), with the score of the model that served it and the real outcome ``deny``.
    """
    import numpy as np
    import pandas as pd

    from gatekit.model.loading import load_skops

    hold = pd.read_csv(artifacts / "hmda_holdout.csv")
    models = {name: load_skops((artifacts / f"hmda_{name}.skops").read_bytes(), allow_untrusted=False)
              for name in ("candidate", "production")}
    export_onnx(models["candidate"], HMDA_FEATURES_NUM, HMDA_FEATURES_CAT, artifacts / "hmda_candidate.onnx")
    export_onnx(models["production"], PRODUCTION_FEATURES_NUM, PRODUCTION_FEATURES_CAT,
                artifacts / "hmda_production.onnx")
    release_candidate(artifacts, hold, key)
    rng = np.random.default_rng(SEED)
    arm = np.where(rng.random(len(hold)) < CANARY_SHARE, "candidate", "production")
    scores = {name: m.predict_proba(hold[list(m.feature_names_in_)])[:, list(m.classes_).index("yes")]
              for name, m in models.items()}
    log = pd.DataFrame({"request_id": np.arange(1, len(hold) + 1), "arm": arm,
                        "score": np.where(arm == "candidate", scores["candidate"], scores["production"]),
                        "deny": hold["deny"], "afam": hold["afam"]})
    log.to_csv(artifacts / "hmda_canary_log.csv", index=False, float_format="%.6f")
    return {"canary_rows": {"candidate": int((arm == "candidate").sum()),
                            "production": int((arm == "production").sum())}}


def new_release_key(artifacts: Path) -> Any:
    """Make the demo release job's Ed25519 key (one per demo run, never written) and write its public key.

    Returns the private key; ``release_key.pub`` (PEM) is written beside the artifacts.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = Ed25519PrivateKey.generate()
    (artifacts / "release_key.pub").write_bytes(key.public_key().public_bytes(Encoding.PEM,
                                                                              PublicFormat.SubjectPublicKeyInfo))
    return key


def sign(path: Path, key: Any) -> None:
    """Write ``<path>.sig``: the detached Ed25519 signature over the file's bytes."""
    path.with_name(path.name + ".sig").write_bytes(key.sign(path.read_bytes()))


def release_candidate(artifacts: Path, hold: Any, key: Any) -> None:
    """Play the release job: sign the candidate's ONNX file and write its model card.

    A fresh Ed25519 key pair per demo run (the private key is used once and never written): the
    detached signature ``hmda_candidate.onnx.sig``, the public key ``release_key.pub`` (PEM), and
    ``hmda_candidate_card.yaml`` with name, version, owner, intended use and the training data's sha256;
    ``hmda_production_card.yaml`` holds the production model's version; ``hmda_serving_requirements.txt``
    lists what serving the ONNX file needs.
    """
    import hashlib

    import yaml

    model = artifacts / "hmda_candidate.onnx"
    sign(model, key)
    train_sha = hashlib.sha256((artifacts / "hmda_train.csv").read_bytes()).hexdigest()
    card = {"name": "loan-denial", "version": "2.1.0", "owner": "credit risk ML team",
            "intended_use": "Rank mortgage applications for manual review; not for automated denial.",
            "training": {"data": "hmda_train.csv (AER HMDA, 70 % stratified split)", "data_sha256": train_sha,
                         "rows": int(sum(1 for _ in (artifacts / "hmda_train.csv").open()) - 1)},
            "model_sha256": hashlib.sha256(model.read_bytes()).hexdigest(),
            "evaluation_rows": len(hold)}
    (artifacts / "hmda_candidate_card.yaml").write_text(yaml.safe_dump(card, sort_keys=False))
    (artifacts / "hmda_production_card.yaml").write_text(yaml.safe_dump({"name": "loan-denial", "version": "2.0.3"}))
    # what serving the ONNX file needs at run time: its licences are checked by loan_serving.yaml
    (artifacts / "hmda_serving_requirements.txt").write_text("onnxruntime\nnumpy\nprotobuf\nflatbuffers\n")


def hmda_v2(df: Any) -> Any:
    """Return the HMDA frame's "new version": ``pirat`` renamed, ``other_debt_ratio`` (pirat - hirat) added."""
    v2 = df.rename(columns={"pirat": "payment_income_ratio"})
    v2.insert(2, "other_debt_ratio", (df["pirat"] - df["hirat"]).clip(lower=0).round(4))
    return v2


def train_hmda_v2(root: Path, artifacts: Path) -> dict[str, Any]:
    """Train a candidate on the new HMDA schema; write ``hmda_v2_candidate.skops`` and ``hmda_v2_holdout.csv``."""
    import pandas as pd
    import skops.io as sio
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    df = hmda_v2(pd.read_csv(root / "data" / "hmda" / "hmda.csv"))
    num = ["payment_income_ratio", "other_debt_ratio", *HMDA_FEATURES_NUM[1:]]
    train, hold = train_test_split(df, test_size=0.3, random_state=SEED, stratify=df["deny"])
    model = Pipeline([
        ("prep", ColumnTransformer([("num", StandardScaler(), num),
                                    ("cat", OneHotEncoder(handle_unknown="ignore"), HMDA_FEATURES_CAT)])),
        ("clf", LogisticRegression(max_iter=1000)),
    ])
    model.fit(train[num + HMDA_FEATURES_CAT], train["deny"])
    sio.dump(model, artifacts / "hmda_v2_candidate.skops")
    hold.to_csv(artifacts / "hmda_v2_holdout.csv", index=False)
    return {"train_rows": len(train), "holdout_rows": len(hold)}


def demand_features(df: Any) -> Any:
    """Calendar and temperature features for the demand model (shape (n_rows, 5))."""
    import pandas as pd

    ts = pd.to_datetime(df["timestamp"])
    return pd.DataFrame({
        "Temperature": df["Temperature"],
        "WorkDay": df["WorkDay"],
        "half_hour": ts.dt.hour * 2 + ts.dt.minute // 30,
        "day_of_week": ts.dt.dayofweek,
        "day_of_year": ts.dt.dayofyear,
    })


def train_demand(root: Path, artifacts: Path, key: Any) -> dict[str, Any]:
    """Train the demand forecaster on Jan-Oct; write ``elecdemand_holdout.csv`` with a ``forecast`` column."""
    import pandas as pd
    import skops.io as sio
    from sklearn.ensemble import HistGradientBoostingRegressor

    df = pd.read_csv(root / "data" / "elecdemand" / "elecdemand.csv")
    cut = df["timestamp"] < "2014-11-01"
    train, hold = df[cut], df[~cut].copy()
    model = HistGradientBoostingRegressor(max_iter=300, learning_rate=0.1, random_state=SEED)
    model.fit(demand_features(train), train["Demand"])
    hold["forecast"] = model.predict(demand_features(hold))
    sio.dump(model, artifacts / "demand_candidate.skops")
    # the derived features go into the files too, so the ONNX export can be run on them
    train, hold = (pd.concat([f, demand_features(f).drop(columns=["Temperature", "WorkDay"])], axis=1)
                   for f in (train, hold))
    hold.to_csv(artifacts / "elecdemand_holdout.csv", index=False, float_format="%.6f")
    train.to_csv(artifacts / "elecdemand_train.csv", index=False, float_format="%.6f")  # drift's reference
    # the release job signs the artifact: the policy loads it (skops with its tree types) on that signature
    sign(artifacts / "demand_candidate.skops", key)
    return {"train_rows": int(cut.sum()), "holdout_rows": len(hold)}


GLASS_FEATURES = ["RI", "Na", "Mg", "Al", "Si", "K", "Ca", "Ba", "Fe"]


def train_glass(root: Path, artifacts: Path, key: Any) -> dict[str, Any]:
    """Train the glass-type candidate and production models; write them and ``glass_holdout.csv``.

    The candidate is a random forest (300 trees), production a standardised multinomial logistic regression,
    both on the same stratified 65 % of ``data/fgl/fgl.csv``; the held-out 35 % (75 rows, every type present)
    is written out. The forest's skops file holds tree types skops does not trust by default, so the release
    job signs it (``glass_candidate.skops.sig``), as it does the demand forecaster.
    """
    import pandas as pd
    import skops.io as sio
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    df = pd.read_csv(root / "data" / "fgl" / "fgl.csv")
    train, hold = train_test_split(df, test_size=0.35, random_state=SEED, stratify=df["type"])
    candidate = RandomForestClassifier(n_estimators=300, random_state=SEED).fit(train[GLASS_FEATURES], train["type"])
    production = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(train[GLASS_FEATURES],
                                                                                         train["type"])
    sio.dump(candidate, artifacts / "glass_candidate.skops")
    sio.dump(production, artifacts / "glass_production.skops")
    sign(artifacts / "glass_candidate.skops", key)
    hold.to_csv(artifacts / "glass_holdout.csv", index=False)
    return {"train_rows": len(train), "holdout_rows": len(hold), "classes": int(df["type"].nunique())}


DEMO_POLICIES = ("loan_approval", "loan_approval_v2", "demand_forecast", "seed_mini_challenge", "seed_project_2",
                 "loan_serving", "glass_types")
"""The policies ``gatekit demo`` runs, in order."""


def run_demo(root: Path | None, out: Path | None, console: Any) -> int:
    """Train the candidates, run the demo's policies (:data:`DEMO_POLICIES`), write their reports.

    Parameters
    ----------
    root : pathlib.Path or None
        Repository root; found automatically when None.
    out : pathlib.Path or None
        Folder for the reports; default ``<root>/reports/demo``. The trained models and held-out
        rows always go to ``<root>/reports/demo/artifacts``, where the policies' ``inputs:`` read them.
    console : rich.console.Console
        Where progress and the summaries are printed.

    Returns
    -------
    int
        0 when every gate ran (whatever its decision), so the demo command itself succeeds.
    """
    from gatekit.api import run
    from gatekit.history.config import load_config
    from gatekit.report.terminal import print_summary

    cfg = load_config()  # the demo's runs are recorded like any other (gatekit.toml, GATEKIT_HISTORY_URL)
    root = find_root(root)
    out = out or root / "reports" / "demo"
    artifacts = root / "reports" / "demo" / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    console.print("Training the loan-approval candidate on HMDA (70 % stratified split) ...")
    h = train_hmda(root, artifacts)
    console.print(f"  {h['train_rows']} training rows, {h['holdout_rows']} held-out rows")
    console.print("Training the production HMDA model (older rows and features), exporting both to ONNX and "
                  "simulating a canary log ...")
    train_hmda_production(root, artifacts)
    key = new_release_key(artifacts)  # the demo plays the release job that signs what it ships
    roll = hmda_rollout(artifacts, key)
    console.print(f"  canary arms {roll['canary_rows']}")
    console.print("Training a second candidate on a new HMDA schema (pirat renamed, other_debt_ratio added) ...")
    train_hmda_v2(root, artifacts)
    console.print("Training the demand forecaster on elecdemand (Jan-Oct 2014; held out Nov-Dec) ...")
    d = train_demand(root, artifacts, key)
    console.print(f"  {d['train_rows']} training rows, {d['holdout_rows']} held-out rows")
    console.print("Training the glass-type classifier on fgl (6 classes; 65 % stratified split) and a production "
                  "logistic regression ...")
    g = train_glass(root, artifacts, key)
    console.print(f"  {g['train_rows']} training rows, {g['holdout_rows']} held-out rows, {g['classes']} classes")
    for name in DEMO_POLICIES:
        console.print()
        written: dict[str, Path] = {}
        # the same workflow as `gatekit run`: enforcement, alerts, reports, then the history record
        report = run(root / "policies" / f"{name}.yaml", out=out / name, history=cfg.history_url,
                     webhook_url=cfg.webhook_url, webhook_timeout_s=cfg.webhook_timeout_s, written=written)
        print_summary(report, written, console)
    console.print()
    if cfg.history_url is not None:
        from gatekit.history.store import HistoryStore

        console.print(f"The {len(DEMO_POLICIES)} runs are recorded in the history store "
                      f"({HistoryStore(cfg.history_url).display}); `gatekit history` shows them, and each new demo "
                      f"run adds {len(DEMO_POLICIES)} more.", markup=False)
    return 0
