using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

// One cluster at a time: the fault tests time failure windows, and parallel clusters on a small
// machine would stretch them.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Glance.Cluster.Tests.Support;

/// <summary>
/// A cluster of real processes made by <c>scripts/cluster.sh</c> (the operators' tool, so the tests
/// exercise it too): Azurite, silos and API nodes, each its own OS process on loopback, with state
/// in a temporary <c>CLUSTER_DIR</c> and ports of their own. It runs the solution's build outputs
/// (<c>CLUSTER_BUILD=never</c>): test.sh builds the solution before the tests run.
/// </summary>
public sealed class LocalCluster : IAsyncDisposable
{
    /// <summary>The upload lease the cluster runs with (short, so that the lease tests are quick).</summary>
    public const int LeaseSeconds = 6;

    private readonly TempDirectory _directory = new();
    private readonly string _repository = FindRepositoryRoot();
    private readonly int _portBase = FreePortBase();

    /// <summary>Base URL of each API node, by node number.</summary>
    public Dictionary<int, Uri> ApiNodes { get; } = [];

    /// <summary>Each silo's Prometheus <c>/metrics</c> URL, by silo number.</summary>
    public Dictionary<int, Uri> SiloMetrics { get; } = [];

    /// <summary>More command-line settings for every node this cluster starts.</summary>
    public string Settings { get; init; } = "";

    /// <summary>The cluster's Azure Storage connection string (for direct clients).</summary>
    public string ConnectionString { get; private set; } = "";

    /// <summary>Where the cluster's CA and node certificate are, when it runs with mutual TLS.</summary>
    public string? TlsDirectory { get; private set; }

    /// <summary>The loopback port of silo <paramref name="silo"/>'s gateway (cluster.sh: BASE+100+K).</summary>
    public int GatewayPort(int silo) => _portBase + 100 + silo;

    /// <summary>The cluster id.</summary>
    public string ClusterId { get; } = "glance-test-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>The repository root.</summary>
    public string Repository => _repository;

    /// <summary>The build configuration the tests (and so the cluster's processes) were built in.</summary>
    public static string Configuration => AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}") ? "Debug" : "Release";

    /// <summary><c>cluster.sh up --silos N --api M</c>.</summary>
    public async Task UpAsync(int silos, int apis, bool plain = false, bool netns = false)
    {
        var output = await RunAsync(TimeSpan.FromMinutes(3),
            ["up", "--silos", $"{silos}", "--api", $"{apis}", .. (plain ? new[] { "--plain" } : []), .. (netns ? new[] { "--netns" } : [])]);
        // One line per node, as operators' tools read it.
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == silos + apis && lines.All(l => l.StartsWith("api ", StringComparison.Ordinal) || l.StartsWith("silo ", StringComparison.Ordinal)),
            $"cluster.sh up printed other than one line per node:\n{output}");
        foreach (var line in lines.Concat((await RunAsync(TimeSpan.FromSeconds(30), "nodes", "--metrics")).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            var parts = line.Split(' ');
            if (parts is ["api", var k, var url])
            {
                ApiNodes[int.Parse(k, System.Globalization.CultureInfo.InvariantCulture)] = new Uri(url);
            }
            if (parts is ["silo-metrics", var silo, var metrics])
            {
                SiloMetrics[int.Parse(silo, System.Globalization.CultureInfo.InvariantCulture)] = new Uri(metrics);
            }
        }
        Assert.True(ApiNodes.Count == apis, $"cluster.sh up printed {ApiNodes.Count} API nodes, not {apis}:\n{output}");
        var env = await RunAsync(TimeSpan.FromSeconds(10), "env");
        ConnectionString = env.Split('\n').First(l => l.StartsWith("CLUSTER_CONNECTION_STRING=", StringComparison.Ordinal))
            ["CLUSTER_CONNECTION_STRING=".Length..].Trim('\'');
        TlsDirectory = env.Split('\n').FirstOrDefault(l => l.StartsWith("CLUSTER_TLS_DIR=", StringComparison.Ordinal))?["CLUSTER_TLS_DIR=".Length..].Trim();
    }

    /// <summary><c>cluster.sh kill|stop|start silo|api K</c>, or <c>stop|start azurite</c>.</summary>
    public Task<string> NodeAsync(string verb, string kind, int? k = null) =>
        RunAsync(TimeSpan.FromMinutes(1), k is null ? [verb, kind] : [verb, kind, $"{k}"]);

    /// <summary>The members as the cluster sees them (<c>cluster.sh status</c>).</summary>
    public Task<string> StatusAsync() => RunAsync(TimeSpan.FromMinutes(1), "status");

    /// <summary>The last lines of a node's log, for failure messages.</summary>
    public string Log(string node)
    {
        var path = Path.Combine(_directory.Path, "logs", node + ".log");
        return File.Exists(path)
            ? $"--- {node}:\n" + string.Join('\n', File.ReadLines(path).Where(l => l.Contains("answered 5", StringComparison.Ordinal) || l.Contains("fail", StringComparison.OrdinalIgnoreCase)).TakeLast(40))
            : $"--- {node}: (no log)";
    }

    /// <summary>Lines of every node's log that <paramref name="match"/> picks, each prefixed by its node.</summary>
    public IEnumerable<string> LogLines(Func<string, bool> match) =>
        Directory.Exists(Path.Combine(_directory.Path, "logs"))
            ? Directory.GetFiles(Path.Combine(_directory.Path, "logs"), "*.log").Order(StringComparer.Ordinal)
                .SelectMany(path => File.ReadLines(path).Where(match).Select(line => $"{Path.GetFileNameWithoutExtension(path)}: {line}"))
            : [];

    /// <summary>Runs cluster.sh with this cluster's environment; fails the test with its output if it fails.</summary>
    public async Task<string> RunAsync(TimeSpan timeout, params string[] arguments)
    {
        var start = new ProcessStartInfo("bash")
        {
            WorkingDirectory = _repository,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(_repository, "scripts", "cluster.sh"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["CLUSTER_DIR"] = _directory.Path;
        start.Environment["CLUSTER_PORT_BASE"] = $"{_portBase}";
        start.Environment["CLUSTER_ID"] = ClusterId;
        start.Environment["CLUSTER_BUILD"] = "never";
        start.Environment["CLUSTER_CONFIGURATION"] = Configuration;
        start.Environment["CLUSTER_SETTINGS"] =
            $"--Glance:ImageData:UploadLeaseSeconds={LeaseSeconds} --Glance:Recovery:MinimumGap=00:00:01 --Logging:LogLevel:Default=Warning"
            // Timestamped, with the membership's decisions: the fault tests print the failure-detection timeline.
            + " --Logging:Console:FormatterOptions:TimestampFormat=[HH:mm:ss.fff] --Logging:Console:FormatterOptions:UseUtcTimestamp=true --Logging:Console:FormatterOptions:SingleLine=true"
            + " --Logging:LogLevel:Orleans.Runtime.MembershipService=Information"
            + (Settings.Length > 0 ? " " + Settings : "");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"cluster.sh {string.Join(' ', arguments)} did not finish within {timeout}:\n{await stderr}");
        }
        if (process.ExitCode != 0)
        {
            // A node that exited while starting says why at the end of its log (the directory goes
            // with the cluster): the one named, or the one cluster.sh points at ("see ....log": add silo).
            var errors = await stderr;
            var node = arguments is [_, "silo" or "api", var k] ? Path.Combine(_directory.Path, "logs", $"{arguments[1]}-{k}.log")
                : System.Text.RegularExpressions.Regex.Match(errors, @"\(see (\S+\.log)\)") is { Success: true } seen ? seen.Groups[1].Value : null;
            var tail = node is not null && File.Exists(node)
                ? $"\n--- last lines of {Path.GetFileName(node)} (stack frames left out):\n" + string.Join('\n', File.ReadLines(node).TakeLast(400)
                    .Where(l => !l.TrimStart().StartsWith("at ", StringComparison.Ordinal)).TakeLast(60)) // the messages, not the stack frames
                : "";
            throw new InvalidOperationException(
                $"cluster.sh {string.Join(' ', arguments)} failed ({process.ExitCode}){(IsCi ? " (CI)" : "")}:\n{await stdout}\n{errors}{tail}");
        }
        return await stdout;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunAsync(TimeSpan.FromMinutes(1), "down");
        }
        finally
        {
            _directory.Dispose();
        }
    }

    private static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    // cluster.sh uses BASE+1.., BASE+101.., BASE+201.., BASE+251.. and BASE+300..302: find a base where
    // they are free, below the kernel's ephemeral range, where an outgoing connection of the load could
    // take a port (BASE+4, say) before the silo that "add silo" starts binds it.
    private static int FreePortBase()
    {
        var random = new Random();
        var slots = (EphemeralLow() - 14000 - 400) / 400;
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var candidate = 14000 + (random.Next(0, slots) * 400);
            int[] offsets = [1, 2, 3, 4, 101, 102, 103, 104, 201, 202, 251, 252, 253, 254, 300, 301, 302];
            if (offsets.All(o => IsFree(candidate + o)))
            {
                return candidate;
            }
        }
        throw new InvalidOperationException("no free port range for the cluster");
    }

    private static int EphemeralLow()
    {
        const string range = "/proc/sys/net/ipv4/ip_local_port_range";
        return File.Exists(range) && int.TryParse(File.ReadAllText(range).Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[0], out var low)
            ? Math.Max(low, 16000)
            : 32768;
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
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
        throw new InvalidOperationException($"no Glance.Orleans.sln above {AppContext.BaseDirectory}");
    }
}

/// <summary>The cluster the fault tests share: 3 silos and 2 API nodes; every test leaves it whole again.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    /// <summary>The cluster.</summary>
    public LocalCluster Cluster { get; } = new()
    {
        // A setting an API node must read itself (ApiNodeSettingsTests): the tasks API's roles.
        Settings = "--Glance:Tasks:AccessRoles:0=admin --Glance:Tasks:AccessRoles:1=observer",
    };

    public Task InitializeAsync() => Cluster.UpAsync(silos: 3, apis: 2);

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>The tests that share one cluster (they run one after another).</summary>
[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "Cluster";
}
