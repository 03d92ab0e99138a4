using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Azure.Core;
using Azure.Storage.Blobs;
using Glance.Grains.Storage;

namespace Glance.Storage.Tests;

/// <summary>
/// An Azurite of the tests' own: the repository's pinned <c>node_modules/.bin/azurite</c> (installed by
/// <c>npm ci</c>, which test.sh runs), in memory, on free ports, stopped with SIGINT at the end. If it
/// cannot start, every test of the collection fails with the reason: the Azure store is never
/// silently skipped.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    /// <summary>Azurite's well-known development account.</summary>
    public const string AccountName = "devstoreaccount1";

    /// <summary>Azurite's well-known development account key (public, not a secret).</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private readonly StringBuilder _output = new();
    private readonly bool _skipApiVersionCheck;
    private Process? _process;
    private string? _workingDirectory;

    /// <summary>The Azurite the tests share: accepts any API version, as the Orleans CI runs it.</summary>
    public AzuriteFixture() : this(skipApiVersionCheck: true)
    {
    }

    private AzuriteFixture(bool skipApiVersionCheck) => _skipApiVersionCheck = skipApiVersionCheck;

    /// <summary>An Azurite that rejects API versions newer than its own (start it with <see cref="InitializeAsync"/>).</summary>
    public static AzuriteFixture WithApiVersionCheck() => new(skipApiVersionCheck: false);

    /// <summary>Connection string of the running Azurite.</summary>
    public string ConnectionString { get; private set; } = "";

    /// <summary>Client options for tests: the pinned service version and short retries, so a dead emulator fails fast.</summary>
    public static BlobClientOptions ClientOptions()
    {
        var options = AzureBlobImageDataStore.CreateClientOptions();
        options.Retry.Mode = RetryMode.Fixed;
        options.Retry.MaxRetries = 1;
        options.Retry.Delay = TimeSpan.FromMilliseconds(100);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(30);
        return options;
    }

    /// <summary>A client for <paramref name="containerName"/> on this Azurite.</summary>
    public BlobContainerClient Container(string containerName) => new(ConnectionString, containerName, ClientOptions());

    public async Task InitializeAsync()
    {
        var root = FindRepositoryRoot();
        var azurite = Path.Combine(root, "node_modules", ".bin", OperatingSystem.IsWindows() ? "azurite.cmd" : "azurite");
        if (!File.Exists(azurite))
        {
            throw Fail($"{azurite} is missing. Install the pinned Azurite with `npm ci` in {root} (./test.sh does this before the tests).");
        }
        // Free ports can be taken between the probe and Azurite's bind: try a few sets.
        for (var attempt = 1; ; attempt++)
        {
            var (blob, queue, table) = (FreePort(), FreePort(), FreePort());
            if (await TryStartAsync(azurite, blob, queue, table))
            {
                ConnectionString =
                    $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};" +
                    $"BlobEndpoint=http://127.0.0.1:{blob}/{AccountName};" +
                    $"QueueEndpoint=http://127.0.0.1:{queue}/{AccountName};" +
                    $"TableEndpoint=http://127.0.0.1:{table}/{AccountName};";
                return;
            }
            if (attempt == 3)
            {
                string output;
                lock (_output)
                {
                    output = _output.ToString();
                }
                throw Fail($"{azurite} did not start listening (3 attempts, up to {StartTimeout.TotalSeconds:0} s each). Its output:\n{output}");
            }
        }
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        if (_workingDirectory is not null)
        {
            try
            {
                Directory.Delete(_workingDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private async Task<bool> TryStartAsync(string azurite, int blob, int queue, int table)
    {
        await StopAsync();
        _workingDirectory ??= Directory.CreateTempSubdirectory("glance-azurite-").FullName;
        var start = new ProcessStartInfo(azurite)
        {
            WorkingDirectory = _workingDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[]
                 {
                     "--silent", "--inMemoryPersistence", "--loose", "--disableTelemetry",
                     "--blobHost", "127.0.0.1", "--blobPort", $"{blob}",
                     "--queueHost", "127.0.0.1", "--queuePort", $"{queue}",
                     "--tableHost", "127.0.0.1", "--tablePort", $"{table}",
                 })
        {
            start.ArgumentList.Add(argument);
        }
        if (_skipApiVersionCheck)
        {
            start.ArgumentList.Add("--skipApiVersionCheck");
        }
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Record(e.Data);
        process.ErrorDataReceived += (_, e) => Record(e.Data);
        try
        {
            process.Start();
        }
        catch (Exception exception) when (exception is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            process.Dispose();
            throw Fail($"{azurite} could not be started ({exception.Message}); is node on the PATH?", exception);
        }
        _process = process;
        AppDomain.CurrentDomain.ProcessExit += KillOnExit;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (process.HasExited)
            {
                Record($"(exited with code {process.ExitCode})");
                return false;
            }
            if (await IsListeningAsync(blob))
            {
                return true;
            }
            await Task.Delay(100);
        }
        await StopAsync();
        return false;
    }

    private async Task StopAsync()
    {
        if (_process is not { } process)
        {
            return;
        }
        _process = null;
        AppDomain.CurrentDomain.ProcessExit -= KillOnExit;
        try
        {
            if (!process.HasExited)
            {
                // SIGINT makes Azurite close its listeners and exit; SIGTERM can leave node hanging.
                if (!OperatingSystem.IsWindows())
                {
                    _ = Kill(process.Id, SigInt);
                }
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                try
                {
                    await process.WaitForExitAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync();
                }
            }
        }
        finally
        {
            process.Dispose();
        }
    }

    private void KillOnExit(object? sender, EventArgs e)
    {
        try
        {
            if (_process is { HasExited: false } process)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
        }
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private static async Task<bool> IsListeningAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Glance.Orleans.sln")))
            {
                return directory.FullName;
            }
        }
        throw Fail($"no Glance.Orleans.sln above {AppContext.BaseDirectory}, so the repository (and its node_modules) cannot be found.");
    }

    private static InvalidOperationException Fail(string reason, Exception? inner = null)
    {
        var ci = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        return new InvalidOperationException(
            $"Azurite could not be started for the Azure Blob store tests{(ci ? " (CI)" : "")}: {reason}", inner);
    }

    private const int SigInt = 2;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}

/// <summary>The tests that share one Azurite.</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
