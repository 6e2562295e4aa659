"""
Early stopping and callbacks on the digits
==========================================

scikit-learn's 8x8 digits, standardised, learnt by an MLP that holds out 10% of its training
data (``early_stopping=True``) and stops once the held-out accuracy has not improved for 10
epochs. A :class:`~xperceptron.callbacks.History` callback records every epoch's figures; the
plot shows the training loss and the validation accuracy per epoch.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from xperceptron import MLPClassifier
from xperceptron.callbacks import History
from xperceptron.plot import loss_curve

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
scaler = StandardScaler().fit(X_train)

history = History()
clf = MLPClassifier((32,), early_stopping=True, random_state=0, callbacks=[history])
clf.fit(scaler.transform(X_train), y_train)

print(f"stopped after {clf.n_iter_} epochs")
print(f"best validation accuracy {clf.best_validation_score_:.4f}")
print(f"test accuracy {clf.score(scaler.transform(X_test), y_test):.4f}")
print("seconds per epoch, first five:", [round(s, 4) for s in history["seconds"][:5]])

loss_curve(clf)
plt.show()
