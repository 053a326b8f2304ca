"""The DP assess door's training recipe: one set of constants the door and its cost estimate share."""

#: Target epsilons of the sweep: (default mode, fast mode). accuracy_private is at TARGET_EPSILON.
EPSILONS = ((1.0, 3.0, 8.0), (1.0, 3.0))
TARGET_EPSILON = 3.0
EPOCHS = (20, 8)
N_REFERENCE = (2, 1)
MAX_BATCH = 64  # expected Poisson batch (at most a quarter of the training split)
MAX_GRAD_NORM = 1.0
LR = 0.05
ACCOUNTANT = "rdp"
#: DP-SGD needs this many training samples: below it every Poisson batch is a large share of the data,
#: subsampling amplifies nothing, and the noise for epsilon 1 drowns any gradient.
MIN_TRAIN = 50
#: The audit needs this many non-members (and members): AUC's standard error at 0.5 is then about 0.13.
MIN_AUDIT = 10
