using System.Diagnostics;

namespace Glance.Api.Tests.Support;

/// <summary>
/// The real service as its own OS process: <c>dotnet Glance.Api.dll</c> (the build the test
/// project copies next to itself) on a free loopback port, a free silo port and a given data
/// directory. Unlike <see cref="GlanceFactory"/> it can be killed (<c>kill -9</c>) or sent a
/// signal, which is what crash and shutdown tests need.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private const int LogLines = 300;
    private readonly Process _process;
    private readonly Queue<string> _log = new();
    private int _disposed;

    private ServiceProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        Http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, UseProxy = false })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
    }

    /// <summary>Where the service listens, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>An HttpClient to <see cref="BaseAddress"/>: no redirects, no cookies, no proxy.</summary>
    public HttpClient Http { get; }

    /// <summary>A client speaking to this service.</summary>
    public GlanceClient Client => new(Http);

    /// <summary>The process id.</summary>
    public int Pid => _process.Id;

    /// <summary>Whether the process has ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the service wrote (stdout and stderr), for failure messages.</summary>
    public string RecentLog
    {
        get
        {
            lock (_log)
            {
                return string.Join('\n', _log);
            }
        }
    }

    /// <summary>
    /// Starts the service on <paramref name="dataDirectory"/> and waits until it answers HTTP
    /// (start-up recovery has then run: it is a silo start-up task, and the silo starts before Kestrel).
    /// </summary>
    /// <param name="dataDirectory">The service's data directory.</param>
    /// <param name="settings">More command-line settings.</param>
    /// <param name="alsoListen">More URLs to listen on beside the plain HTTP one the start-up probe uses (e.g. an HTTPS one).</param>
    public static async Task<ServiceProcess> StartAsync(string dataDirectory, IReadOnlyDictionary<string, string>? settings = null, string? alsoListen = null)
    {
        var apiDll = typeof(Program).Assembly.Location;
        var port = GlanceFactory.FreeTcpPort();
        var baseAddress = new Uri($"http://127.0.0.1:{port}");
        // Through env: a runner started in the background of a script has SIGINT ignored, and a
        // child inherits that; the service must see Ctrl+C as a user would send it.
        var info = new ProcessStartInfo("env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(apiDll)!,
        };
        info.ArgumentList.Add("--default-signal=INT");
        info.ArgumentList.Add("dotnet");
        info.ArgumentList.Add(apiDll);
        var all = new Dictionary<string, string>
        {
            ["urls"] = baseAddress.ToString().TrimEnd('/') + (alsoListen is null ? "" : ";" + alsoListen),
            ["Glance:DataDirectory"] = dataDirectory,
            ["Glance:SiloPort"] = GlanceFactory.FreeTcpPort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Glance:GatewayPort"] = "0",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Orleans"] = "Error",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Error",
            // Start-up and shutdown lines, for the failure messages.
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            all[key] = value;
        }
        foreach (var (key, value) in all)
        {
            info.ArgumentList.Add($"--{key}={value}");
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        var service = new ServiceProcess(process, baseAddress);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                var log = service.RecentLog;
                var code = process.ExitCode;
                await service.DisposeAsync();
                throw new InvalidOperationException($"The service exited ({code}) while starting:\n{log}");
            }
            try
            {
                using var probe = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                using var response = await service.Http.GetAsync("/versions", probe.Token);
                return service;
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
                if (deadline.Elapsed > TimeSpan.FromSeconds(60))
                {
                    await service.DisposeAsync();
                    throw new TimeoutException($"The service did not answer within 60 s:\n{service.RecentLog}");
                }
                await Task.Delay(100);
            }
        }
    }

    /// <summary><c>kill -9</c>: no shutdown code runs, as in a crash or a power-off of the process.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        await _process.WaitForExitAsync();
    }

    /// <summary>Sends a signal by name (<c>INT</c> as Ctrl+C does, <c>TERM</c> as service managers do) with kill(1).</summary>
    public async Task SignalAsync(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-s", signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("kill did not start");
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -s {signal} {_process.Id} failed ({kill.ExitCode})");
        }
    }

    /// <summary>Waits for the process to end; false when it is still running after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var wait = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(wait.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The exit code (after the process ended).</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Kills the process if it still runs (idempotent).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        Http.Dispose();
        await KillAsync();
        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_log)
        {
            _log.Enqueue(line);
            while (_log.Count > LogLines)
            {
                _log.Dequeue();
            }
        }
    }
}
