"""The public transformations: ``grad``, ``value_and_grad``, ``vjp``, ``jvp``,
``jacobian``, ``hessian``, ``hvp``, ``check_grad``, ``checkpoint``, pickling."""
