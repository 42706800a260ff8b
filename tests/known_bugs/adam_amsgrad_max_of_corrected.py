"""AMSGrad keeping the maximum of the bias-corrected v_hat instead of exp_avg_sq itself (torch keeps
the uncorrected maximum and corrects it at each step)."""

from reference import *  # noqa: F403
from tests.known_bugs._optimizer_bugs import adam_step_with

BUG = {"layer": "adam", "checks": ["trajectory"]}

adam_step = adam_step_with(amsgrad_of_corrected=True)
