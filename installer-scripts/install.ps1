<#
.SYNOPSIS
    Installs litellm-stack on Windows 10/11 (Docker Desktop), then runs it.

.DESCRIPTION
    Gets litellm-stack.exe from a release file, checked against its SHA-256 with Get-FileHash
    before it is installed or run, or builds it from a source checkout with cargo; installs it
    into -InstallDir (and adds that folder to your user PATH); checks Docker Desktop (starting
    it when it is installed but not running); then runs litellm-stack.exe.
    Running it again with the same inputs changes nothing. Works in Windows PowerShell 5.1 and
    PowerShell 7.

    If Windows refuses to run this script ("running scripts is disabled on this system", or
    "is not digitally signed"), PowerShell's execution policy blocks it. Start it in one of
    these ways instead; neither changes any setting of the machine:

        powershell -ExecutionPolicy Bypass -File .\installer-scripts\install.ps1 -Binary .\litellm-stack.exe -Sha256 <HEX>

        installer-scripts\install.cmd -Binary .\litellm-stack.exe -Sha256 <HEX>

    or, to allow scripts in the current PowerShell window only:

        Set-ExecutionPolicy -Scope Process -ExecutionPolicy Bypass
        .\installer-scripts\install.ps1 -Binary .\litellm-stack.exe -Sha256 <HEX> -- install --answers answers.yaml --yes

    Arguments for litellm-stack.exe go after --. That works when the script is started from a
    PowerShell prompt (the last example); powershell -File does not pass -- on (PowerShell
    issue 20208), so with -File or install.cmd use -NoRun, then run litellm-stack yourself.

    Exit codes (the same as litellm-stack's): 0 done; 1 a step failed (build, the program does
    not run); 2 bad usage (options, a missing file, a wrong checksum); 3 the environment is not
    ready (Docker Desktop, cargo, download).

.PARAMETER InstallDir
    Where litellm-stack.exe goes. Default: %LOCALAPPDATA%\Programs\litellm-stack.

.PARAMETER ReleaseUrl
    The team's release location: an https:// or http:// address, or a folder (a file share such
    as \\server\releases\litellm-stack). The .exe for this computer is checked against the
    SHA256SUMS file there before it is installed. No -Sha256 needed.

.PARAMETER BinaryUrl
    Download litellm-stack.exe from this https:// (or http://) address. Needs -Sha256.

.PARAMETER Binary
    A litellm-stack.exe release file on this computer. Needs -Sha256.

.PARAMETER Sha256
    The SHA-256 published with the release: 64 hexadecimal characters.

.PARAMETER FromSource
    Build with cargo build --release --locked from a checkout (Rust 1.85 or newer, and for the
    MSVC toolchain the Visual Studio C++ Build Tools).

.PARAMETER SourceDir
    The checkout -FromSource builds. Default: the repository this script is in.

.PARAMETER NoRun
    Install only; do not run litellm-stack.exe.

.PARAMETER NoPathUpdate
    Do not add -InstallDir to your user PATH.

.PARAMETER StackArgs
    Arguments for litellm-stack.exe: whatever follows --.

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File .\installer-scripts\install.ps1 -Binary .\litellm-stack.exe -Sha256 <HEX>

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File .\installer-scripts\install.ps1 -BinaryUrl https://files.example.internal/litellm-stack/litellm-stack.exe -Sha256 <HEX> -NoRun

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File .\installer-scripts\install.ps1 -FromSource
#>
[CmdletBinding(PositionalBinding = $false)]
param(
    [string] $InstallDir = '',
    [string] $ReleaseUrl = '',
    [string] $BinaryUrl = '',
    [string] $Binary = '',
    [string] $Sha256 = '',
    [switch] $FromSource,
    [string] $SourceDir = '',
    [switch] $NoRun,
    [switch] $NoPathUpdate,
    [Parameter(ValueFromRemainingArguments = $true)]
    [string[]] $StackArgs = @()
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
# Windows PowerShell 5.1 redraws its progress bar for every chunk Invoke-WebRequest reads,
# which makes a download many times slower.
$ProgressPreference = 'SilentlyContinue'

$ExitFailed = 1
$ExitUsage = 2
$ExitEnv = 3
$BinName = 'litellm-stack.exe'
# The crate builds with edition 2024, which needs Rust 1.85.
$MinRustMinor = 85

$uiName = if ($env:LANG) { $env:LANG } else { (Get-UICulture).Name }
$script:UiZh = $uiName -like 'zh*'

# One message on stderr, in the user's language.
function Write-Status([string] $En, [string] $Zh) {
    $text = if ($script:UiZh) { $Zh } else { $En }
    [Console]::Error.WriteLine("install.ps1: $text")
}

function Stop-Install([int] $Code, [string] $En, [string] $Zh) {
    Write-Status $En $Zh
    exit $Code
}

# ---- options ---------------------------------------------------------------------------------

# Some PowerShell versions hand a literal -- on with the remaining arguments.
if ($StackArgs.Count -gt 0 -and $StackArgs[0] -eq '--') {
    $StackArgs = @($StackArgs | Select-Object -Skip 1)
}

$sourceCount = 0
if ($ReleaseUrl) { $sourceCount++ }
if ($BinaryUrl) { $sourceCount++ }
if ($Binary) { $sourceCount++ }
if ($FromSource) { $sourceCount++ }
if ($sourceCount -gt 1) {
    Stop-Install $ExitUsage 'choose one of -ReleaseUrl, -BinaryUrl, -Binary and -FromSource' `
        '-ReleaseUrl、-BinaryUrl、-Binary、-FromSource 只能選一個'
}
if ($ReleaseUrl -and $Sha256) {
    Stop-Install $ExitUsage '-Sha256 does not go with -ReleaseUrl: the checksum comes from the release''s SHA256SUMS' `
        '-Sha256 不能和 -ReleaseUrl 一起用：checksum 來自發行位置的 SHA256SUMS'
}
if ($BinaryUrl -or $Binary) {
    if (-not $Sha256) {
        Stop-Install $ExitUsage '-Sha256 HEX is required with -Binary and -BinaryUrl: nothing unverified is installed (the release notes list each file''s SHA-256)' `
            '使用 -Binary 或 -BinaryUrl 時一定要給 -Sha256 HEX：沒核對過的檔案不會被安裝（發行說明裡有每個檔案的 SHA-256）'
    }
    if ($Sha256 -notmatch '^[0-9a-fA-F]{64}$') {
        Stop-Install $ExitUsage ('-Sha256 must be 64 hexadecimal characters, got {0}' -f $Sha256) `
            ('-Sha256 必須是 64 個十六進位字元，收到的是 {0}' -f $Sha256)
    }
    $Sha256 = $Sha256.ToLowerInvariant()
}
elseif ($Sha256) {
    Stop-Install $ExitUsage '-Sha256 goes with -Binary or -BinaryUrl' '-Sha256 要搭配 -Binary 或 -BinaryUrl 使用'
}
if ($SourceDir -and -not $FromSource) {
    Stop-Install $ExitUsage '-SourceDir goes with -FromSource' '-SourceDir 要搭配 -FromSource 使用'
}

if ($env:OS -ne 'Windows_NT') {
    Stop-Install $ExitEnv 'this script is for Windows; on Ubuntu or Debian run installer-scripts/install.sh' `
        '這個腳本是給 Windows 用的；Ubuntu 或 Debian 請執行 installer-scripts/install.sh'
}
if (-not $InstallDir) {
    if (-not $env:LOCALAPPDATA) {
        Stop-Install $ExitUsage 'LOCALAPPDATA is not set: give the folder with -InstallDir' `
            '沒有設定 LOCALAPPDATA：請用 -InstallDir 指定安裝資料夾'
    }
    $InstallDir = Join-Path $env:LOCALAPPDATA 'Programs\litellm-stack'
}
# Relative to where the user stands in PowerShell, not to the process's start folder.
$InstallDir = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($InstallDir)
$dest = Join-Path $InstallDir $BinName

if ($PSVersionTable.PSEdition -ne 'Core') {
    # Windows PowerShell 5.1 on older .NET offers only TLS 1.0/1.1 by default; release shares
    # and most servers now require TLS 1.2.
    [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
}

# ---- the machine -----------------------------------------------------------------------------

$arch = $env:PROCESSOR_ARCHITECTURE
if ($env:PROCESSOR_ARCHITEW6432) { $arch = $env:PROCESSOR_ARCHITEW6432 }
$osName = 'Windows'
try { $osName = (Get-CimInstance -ClassName Win32_OperatingSystem).Caption } catch { $osName = 'Windows' }
Write-Status ('{0}, {1}, PowerShell {2}' -f $osName, $arch, $PSVersionTable.PSVersion) `
    ('{0}，{1}，PowerShell {2}' -f $osName, $arch, $PSVersionTable.PSVersion)

$workDir = Join-Path ([IO.Path]::GetTempPath()) ('litellm-stack-install-' + [Guid]::NewGuid().ToString('N'))
New-Item -ItemType Directory -Path $workDir -Force | Out-Null

# -ReleaseUrl BASE: the .exe for this computer and its checksum from BASE\SHA256SUMS; then the
# same verify-before-run path as -BinaryUrl (a web address) or -Binary (a folder or share).
if ($ReleaseUrl) {
    if (-not [Environment]::Is64BitOperatingSystem) {
        Stop-Install $ExitEnv 'the releases hold a 64-bit Windows program only: use -FromSource' `
            '發行檔只有 64 位元的 Windows 版：請改用 -FromSource'
    }
    $releaseFile = 'litellm-stack-x86_64-pc-windows-gnu.exe'
    $base = $ReleaseUrl.TrimEnd('/', '\')
    $sums = Join-Path $workDir 'SHA256SUMS'
    try {
        if ($base -match '^https?://') {
            Invoke-WebRequest -Uri ($base + '/SHA256SUMS') -OutFile $sums -UseBasicParsing
            $BinaryUrl = $base + '/' + $releaseFile
        }
        else {
            $folder = $base -replace '^file:///?', ''
            Copy-Item -LiteralPath (Join-Path $folder 'SHA256SUMS') -Destination $sums
            $Binary = Join-Path $folder $releaseFile
        }
    }
    catch {
        Stop-Install $ExitEnv ('could not read {0}: {1}. Check the release location' -f ($base + '/SHA256SUMS'), $_.Exception.Message) `
            ('無法讀取 {0}：{1}。請檢查發行位置' -f ($base + '/SHA256SUMS'), $_.Exception.Message)
    }
    foreach ($line in (Get-Content -LiteralPath $sums)) {
        $fields = $line -split '\s+', 2
        if ($fields.Count -eq 2 -and $fields[0] -match '^[0-9a-fA-F]{64}$' -and $fields[1].TrimStart('*') -eq $releaseFile) {
            $Sha256 = $fields[0].ToLowerInvariant()
            break
        }
    }
    if (-not $Sha256) {
        Stop-Install $ExitUsage ('{0}/SHA256SUMS lists no {1}: the release location holds no Windows release' -f $base, $releaseFile) `
            ('{0}/SHA256SUMS 裡沒有 {1}：這個發行位置沒有 Windows 版的發行檔' -f $base, $releaseFile)
    }
}

$desktopExe = Join-Path $env:ProgramFiles 'Docker\Docker\Docker Desktop.exe'

# docker.exe from PATH, else where Docker Desktop puts it (PATH changes reach only new windows).
function Find-DockerCli {
    $cmd = Get-Command docker.exe -ErrorAction SilentlyContinue
    if ($cmd) { return $cmd.Path }
    $bundled = Join-Path $env:ProgramFiles 'Docker\Docker\resources\bin\docker.exe'
    if (Test-Path -LiteralPath $bundled) { return $bundled }
    return $null
}

# $true when `docker info` answers within 20 s: the engine litellm-stack talks to is up.
function Test-DockerEngine {
    $cli = Find-DockerCli
    if (-not $cli) { return $false }
    $p = Start-Process -FilePath $cli -ArgumentList 'info', '--format', '{{.ServerVersion}}' -NoNewWindow -PassThru `
        -RedirectStandardOutput (Join-Path $workDir 'docker-info.out') -RedirectStandardError (Join-Path $workDir 'docker-info.err')
    # Windows PowerShell 5.1 reports no ExitCode unless the handle was taken while it ran.
    $null = $p.Handle
    if (-not $p.WaitForExit(20000)) {
        try { $p.Kill() } catch { }
        return $false
    }
    return ($p.ExitCode -eq 0)
}

$desktopInstalled = (Test-Path -LiteralPath $desktopExe) -or [bool](Find-DockerCli)
$engineUp = $false
if (-not $desktopInstalled) {
    Write-Status 'Docker Desktop is not installed. litellm-stack needs it: install Docker Desktop for Windows (WSL 2 backend) from https://www.docker.com/products/docker-desktop/, sign out and in, start it, then run this again' `
        '沒有安裝 Docker Desktop。litellm-stack 需要它：請從 https://www.docker.com/products/docker-desktop/ 安裝 Docker Desktop for Windows（WSL 2 後端），登出再登入並啟動它，然後再執行一次'
}
elseif (Test-DockerEngine) {
    $engineUp = $true
    Write-Status 'Docker Desktop is running' 'Docker Desktop 正在執行'
}
else {
    Write-Status 'Docker Desktop is installed but its engine does not answer (not started yet?)' `
        '已安裝 Docker Desktop，但引擎沒有回應（還沒啟動？）'
}

# ---- the binary ------------------------------------------------------------------------------

# Stops before anything runs when the file is not the release file the checksum names.
function Assert-Sha256([string] $Path, [string] $Label) {
    $actual = (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash.ToLowerInvariant()
    if ($actual -ne $Sha256) {
        Stop-Install $ExitUsage ('checksum mismatch for {0}: expected SHA-256 {1}, got {2}. It was NOT installed or run. Download it again, or check that -Sha256 is the one published with this release' -f $Label, $Sha256, $actual) `
            ('{0} 的 checksum 不符：預期 SHA-256 {1}，實際是 {2}。沒有安裝也沒有執行它。請重新下載，或確認 -Sha256 是這個版本公布的值' -f $Label, $Sha256, $actual)
    }
    Write-Status ('SHA-256 verified: {0}' -f $actual) ('SHA-256 核對無誤：{0}' -f $actual)
}

# A 64-bit Windows program (x64 or ARM64), not a Linux binary or a saved error page.
function Assert-WindowsExe([string] $Path, [string] $Label) {
    $bytes = New-Object byte[] 1024
    $stream = [IO.File]::OpenRead($Path)
    try { $read = $stream.Read($bytes, 0, $bytes.Length) } finally { $stream.Dispose() }
    $ok = $false
    if ($read -ge 64 -and $bytes[0] -eq 0x4D -and $bytes[1] -eq 0x5A) {
        $pe = [BitConverter]::ToInt32($bytes, 0x3C)
        if ($pe -gt 0 -and ($pe + 6) -le $read -and $bytes[$pe] -eq 0x50 -and $bytes[$pe + 1] -eq 0x45) {
            $machine = [BitConverter]::ToUInt16($bytes, $pe + 4)
            $ok = ($machine -eq 0x8664) -or ($machine -eq 0xAA64)
        }
    }
    if (-not $ok) {
        Stop-Install $ExitUsage ('{0} is not a 64-bit Windows program (for Linux use install.sh)' -f $Label) `
            ('{0} 不是 64 位元的 Windows 程式（Linux 請用 install.sh）' -f $Label)
    }
}

# Builds the checkout in $Dir and returns the path of litellm-stack.exe.
function Build-FromSource([string] $Dir) {
    $manifest = Join-Path $Dir 'Cargo.toml'
    if (-not (Test-Path -LiteralPath $manifest) -or -not (Select-String -LiteralPath $manifest -Pattern '^name = "litellm-stack"' -Quiet)) {
        Stop-Install $ExitUsage ('{0} is not a litellm-stack checkout (no Cargo.toml naming litellm-stack)' -f $Dir) `
            ('{0} 不是 litellm-stack 的原始碼目錄（找不到寫著 litellm-stack 的 Cargo.toml）' -f $Dir)
    }
    $cargo = $null
    $found = Get-Command cargo.exe -ErrorAction SilentlyContinue
    if ($found) { $cargo = $found.Path }
    elseif ($env:USERPROFILE -and (Test-Path -LiteralPath (Join-Path $env:USERPROFILE '.cargo\bin\cargo.exe'))) {
        $cargo = Join-Path $env:USERPROFILE '.cargo\bin\cargo.exe'
    }
    if (-not $cargo) {
        Stop-Install $ExitEnv ('-FromSource needs Rust''s cargo (1.{0} or newer): install Rust with rustup (https://rustup.rs) and the Visual Studio C++ Build Tools, open a new PowerShell window, then run this again; or use a release file with -Binary/-BinaryUrl' -f $MinRustMinor) `
            ('-FromSource 需要 Rust 的 cargo（1.{0} 以上）：請用 rustup 安裝 Rust（https://rustup.rs）和 Visual Studio C++ Build Tools，開新的 PowerShell 視窗後再執行一次；或改用發行檔（-Binary/-BinaryUrl）' -f $MinRustMinor)
    }
    $version = (& $cargo --version) -join ' '
    if ($version -notmatch '^cargo 1\.(\d+)' -or [int]$Matches[1] -lt $MinRustMinor) {
        Stop-Install $ExitEnv ('{0} is too old: litellm-stack needs Rust 1.{1} or newer. Run rustup update, then run this again' -f $version, $MinRustMinor) `
            ('{0} 太舊：litellm-stack 需要 Rust 1.{1} 以上。請執行 rustup update 後再執行一次' -f $version, $MinRustMinor)
    }
    Write-Status ('building in {0} with {1} (the first build takes a few minutes)' -f $Dir, $version) `
        ('在 {0} 用 {1} 建置（第一次建置要幾分鐘）' -f $Dir, $version)
    # The artifact messages name the executable wherever the target folder is; diagnostics and
    # progress still reach the window.
    $messages = & $cargo build --release --locked --bin litellm-stack --manifest-path $manifest '--message-format=json-render-diagnostics'
    if ($LASTEXITCODE -ne 0) {
        Stop-Install $ExitFailed 'cargo build failed (its messages are above)' 'cargo build 失敗（訊息在上面）'
    }
    $exe = $null
    foreach ($line in $messages) {
        if ($line -notlike '*"compiler-artifact"*') { continue }
        $msg = $line | ConvertFrom-Json
        if ($msg.target.name -eq 'litellm-stack' -and $msg.executable) { $exe = $msg.executable }
    }
    if (-not $exe -or -not (Test-Path -LiteralPath $exe)) {
        Stop-Install $ExitFailed 'cargo build finished but named no litellm-stack.exe' 'cargo build 完成了，卻沒有產生 litellm-stack.exe'
    }
    return $exe
}

# Adds $Dir to the user PATH in the registry, keeping it an expandable string so entries such
# as %USERPROFILE%\bin keep working. Returns $true when it was added.
function Add-UserPath([string] $Dir) {
    $key = Get-Item -LiteralPath 'HKCU:\Environment'
    $raw = [string]$key.GetValue('Path', '', [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
    $entries = @($raw -split ';' | Where-Object { $_ })
    foreach ($entry in $entries) {
        if ($entry.TrimEnd('\') -ieq $Dir.TrimEnd('\')) { return $false }
    }
    Set-ItemProperty -LiteralPath 'HKCU:\Environment' -Name Path -Value (($entries + $Dir) -join ';') -Type ExpandString
    # A user variable set through .NET makes Explorer reload the environment, so windows
    # opened from now on see the new PATH.
    [Environment]::SetEnvironmentVariable('LITELLM_STACK_INSTALL', '1', 'User')
    [Environment]::SetEnvironmentVariable('LITELLM_STACK_INSTALL', $null, 'User')
    return $true
}

try {
    $src = $null
    if ($BinaryUrl) {
        if ($BinaryUrl -notmatch '^https?://') {
            Stop-Install $ExitUsage ('-BinaryUrl must be an https:// or http:// address, got {0} (a file on disk goes with -Binary)' -f $BinaryUrl) `
                ('-BinaryUrl 必須是 https:// 或 http:// 網址，收到的是 {0}（本機檔案請用 -Binary）' -f $BinaryUrl)
        }
        if ($BinaryUrl -like 'http:*') {
            Write-Status ('note: {0} is plain http; the SHA-256 check still guards the file' -f $BinaryUrl) `
                ('注意：{0} 是未加密的 http；檔案仍會用 SHA-256 核對' -f $BinaryUrl)
        }
        $downloaded = Join-Path $workDir $BinName
        Write-Status ('downloading {0}' -f $BinaryUrl) ('下載 {0}' -f $BinaryUrl)
        try {
            Invoke-WebRequest -Uri $BinaryUrl -OutFile $downloaded -UseBasicParsing
        }
        catch {
            Stop-Install $ExitEnv ('could not download {0}: {1}. Check the address and the network (a proxy?)' -f $BinaryUrl, $_.Exception.Message) `
                ('無法下載 {0}：{1}。請檢查網址與網路（是否需要 proxy？）' -f $BinaryUrl, $_.Exception.Message)
        }
        Assert-Sha256 $downloaded $BinaryUrl
        Assert-WindowsExe $downloaded $BinaryUrl
        $src = $downloaded
    }
    elseif ($Binary) {
        if (-not (Test-Path -LiteralPath $Binary -PathType Leaf)) {
            Stop-Install $ExitUsage ('{0} does not exist' -f $Binary) ('{0} 不存在' -f $Binary)
        }
        # Verify a private copy, so the file cannot change between the check and the install.
        $copy = Join-Path $workDir $BinName
        Copy-Item -LiteralPath $Binary -Destination $copy -Force
        Assert-Sha256 $copy $Binary
        Assert-WindowsExe $copy $Binary
        $src = $copy
    }
    elseif ($FromSource) {
        $dir = if ($SourceDir) { $SourceDir } else { Split-Path -Parent $PSScriptRoot }
        $dir = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($dir)
        $src = Build-FromSource $dir
    }
    elseif (Test-Path -LiteralPath $dest) {
        Write-Status ('no -BinaryUrl, -Binary or -FromSource given: using the installed {0}' -f $dest) `
            ('沒有指定 -BinaryUrl、-Binary 或 -FromSource：使用已安裝的 {0}' -f $dest)
    }
    else {
        Stop-Install $ExitUsage 'say where litellm-stack comes from: -ReleaseUrl BASE, -BinaryUrl URL -Sha256 HEX, -Binary FILE -Sha256 HEX, or -FromSource (Get-Help .\installer-scripts\install.ps1 -Detailed)' `
            '請指定 litellm-stack 的來源：-ReleaseUrl BASE、-BinaryUrl URL -Sha256 HEX、-Binary FILE -Sha256 HEX，或 -FromSource（Get-Help .\installer-scripts\install.ps1 -Detailed）'
    }

    # ---- install -----------------------------------------------------------------------------

    if ($src) {
        try {
            New-Item -ItemType Directory -Path $InstallDir -Force | Out-Null
        }
        catch {
            Stop-Install $ExitEnv ('cannot create {0}: {1}. Choose another folder with -InstallDir' -f $InstallDir, $_.Exception.Message) `
                ('無法建立 {0}：{1}。請用 -InstallDir 指定別的資料夾' -f $InstallDir, $_.Exception.Message)
        }
        $same = (Test-Path -LiteralPath $dest) -and `
            ((Get-FileHash -LiteralPath $dest -Algorithm SHA256).Hash -eq (Get-FileHash -LiteralPath $src -Algorithm SHA256).Hash)
        if ($same) {
            Write-Status ('{0} is already this version; left as it is' -f $dest) ('{0} 已經是這個版本，不用更新' -f $dest)
        }
        else {
            # A temporary name in the same folder, then a rename: never a half-written program.
            $staged = $dest + '.new'
            Copy-Item -LiteralPath $src -Destination $staged -Force
            try {
                Move-Item -LiteralPath $staged -Destination $dest -Force
            }
            catch {
                Remove-Item -LiteralPath $staged -Force -ErrorAction SilentlyContinue
                Stop-Install $ExitEnv ('cannot replace {0}: {1}. Is litellm-stack still running? Close it, then run this again' -f $dest, $_.Exception.Message) `
                    ('無法取代 {0}：{1}。litellm-stack 是不是還在執行？請先關掉它再執行一次' -f $dest, $_.Exception.Message)
            }
            Write-Status ('installed {0}' -f $dest) ('已安裝 {0}' -f $dest)
        }
    }

    try {
        $versionLine = (& $dest --version) -join ' '
    }
    catch {
        Stop-Install $ExitFailed ('{0} does not run: {1}' -f $dest, $_.Exception.Message) ('{0} 無法執行：{1}' -f $dest, $_.Exception.Message)
    }
    if ($LASTEXITCODE -ne 0) {
        Stop-Install $ExitFailed ('{0} --version exited with {1}' -f $dest, $LASTEXITCODE) ('{0} --version 結束代碼是 {1}' -f $dest, $LASTEXITCODE)
    }
    Write-Status ('{0} works: {1}' -f $dest, $versionLine) ('{0} 可以執行：{1}' -f $dest, $versionLine)

    if (-not $NoPathUpdate) {
        if (Add-UserPath $InstallDir) {
            Write-Status ('added {0} to your user PATH; new PowerShell windows find litellm-stack' -f $InstallDir) `
                ('已把 {0} 加進使用者 PATH；之後開的 PowerShell 視窗就能直接執行 litellm-stack' -f $InstallDir)
        }
        if (-not (($env:Path -split ';') -contains $InstallDir)) { $env:Path = $env:Path + ';' + $InstallDir }
    }

    # ---- run ---------------------------------------------------------------------------------

    if ($NoRun) {
        Write-Status ('done; next: & "{0}" install' -f $dest) ('完成；下一步：& "{0}" install' -f $dest)
        exit 0
    }
    # What litellm-stack can do without an engine: show help or its version, write files.
    $needsEngine = -not ($StackArgs.Count -gt 0 -and (@('-h', '--help', '-V', '--version', 'help', 'render', 'plan') -contains $StackArgs[0]))
    if ($needsEngine -and -not $engineUp) {
        if (Test-Path -LiteralPath $desktopExe) {
            Write-Status 'starting Docker Desktop and waiting up to 3 minutes for its engine' `
                '正在啟動 Docker Desktop，最多等 3 分鐘讓引擎就緒'
            Start-Process -FilePath $desktopExe
            $deadline = (Get-Date).AddMinutes(3)
            while (-not $engineUp -and (Get-Date) -lt $deadline) {
                Start-Sleep -Seconds 5
                $engineUp = Test-DockerEngine
            }
        }
        if (-not $engineUp) {
            Stop-Install $ExitEnv ('litellm-stack is installed, but Docker Desktop is not running: start Docker Desktop, wait until it shows "Engine running", then run: & "{0}" install' -f $dest) `
                ('litellm-stack 已安裝，但 Docker Desktop 沒有在執行：請啟動 Docker Desktop，等它顯示「Engine running」後執行：& "{0}" install' -f $dest)
        }
    }
    & $dest @StackArgs
    exit $LASTEXITCODE
}
finally {
    Remove-Item -LiteralPath $workDir -Recurse -Force -ErrorAction SilentlyContinue
}
