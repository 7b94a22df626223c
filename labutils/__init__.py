"""AlexNet vs. GoogLeNet on CIFAR-10: the models, the training engine, the lab runner and the report.

    from labutils.models import GoogLeNet, build_model
    from labutils.train_module import train_model
    from labutils.test_module import test_model
"""

__version__ = "1.0.0"
