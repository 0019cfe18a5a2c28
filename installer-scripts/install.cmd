@echo off
rem Starts install.ps1 whatever PowerShell's execution policy says: the policy applies to .ps1 files,
rem not to this .cmd, and -ExecutionPolicy Bypass here lasts for this one run; no setting changes.
powershell.exe -NoLogo -NoProfile -ExecutionPolicy Bypass -File "%~dp0install.ps1" %*
exit /b %ERRORLEVEL%
