"""``python -m netinspect``: the same as the ``netinspect`` command.

``python -m`` puts the working directory first on ``sys.path``, where a spec's pull request
could add a ``yaml.py`` or ``torch.py`` that would be imported instead of the library.
The console script never has it there; neither does this. (netinspect itself is already
imported by now, from wherever ``python -m`` found it.)
"""

import os
import sys

if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from netinspect.entry import main  # after the path is mended, deliberately

main()
