"""The training loss (docs/training.md): RQ-VQA utils.py's `plcc_loss`, which train.py calls as
`criterion(labels, outputs)`, plus the AIM 2024 winner's pairwise rank hinge (margin 0.05, the mean
over the pairs with MOS_i > MOS_j). vsrqa's Rust version is crates/vsrqa-train/src/loss.rs."""
import torch

RANK_MARGIN = 0.05


def plcc_loss(y_pred, y):  # utils.py
    sigma_hat, m_hat = torch.std_mean(y_pred, unbiased=False)
    y_pred = (y_pred - m_hat) / (sigma_hat + 1e-8)
    sigma, m = torch.std_mean(y, unbiased=False)
    y = (y - m) / (sigma + 1e-8)
    loss0 = torch.nn.functional.mse_loss(y_pred, y) / 4
    rho = torch.mean(y_pred * y)
    loss1 = torch.nn.functional.mse_loss(rho * y_pred, y) / 4
    return (loss0 + loss1) / 2


def rank_hinge(pred, mos, margin=RANK_MARGIN):
    diff_mos = mos[:, None] - mos[None, :]
    diff_pred = pred[:, None] - pred[None, :]
    pairs = diff_mos > 0
    return torch.clamp(margin - diff_pred[pairs], min=0).mean() if pairs.any() else pred.sum() * 0
