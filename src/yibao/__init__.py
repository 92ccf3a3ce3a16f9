"""yibao: a medical-insurance settlement platform speaking the national 两定接口."""

__version__ = "0.1.0"
