using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Glance.Api.Tests.Support;

/// <summary>
/// The real service (Api's Program: HTTP front end plus co-hosted silo with SQLite storage)
/// serving real HTTP on a loopback Kestrel port. Each instance has its own free silo port and
/// no gateway (ORLEANS-NOTES G16); starting a second one on the same data directory is how
/// tests restart the service.
/// </summary>
public sealed class GlanceFactory : WebApplicationFactory<Program>
{
    private readonly string _dataDirectory;
    private readonly IReadOnlyDictionary<string, string?> _settings;
    private readonly int _siloPort = FreeTcpPort();
    private HttpClient? _client;

    /// <summary>A factory on <paramref name="dataDirectory"/> with extra configuration settings.</summary>
    public GlanceFactory(string dataDirectory, IReadOnlyDictionary<string, string?>? settings = null)
    {
        _dataDirectory = dataDirectory;
        _settings = settings ?? new Dictionary<string, string?>();
        UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
    }

    /// <summary>Where the server listens, e.g. <c>http://127.0.0.1:41234</c> (no trailing slash).</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>A plain HttpClient over TCP to <see cref="BaseAddress"/>: no redirects, no cookies.</summary>
    public HttpClient Http => _client ?? throw new InvalidOperationException("Call Start first.");

    /// <summary>A client speaking to this server.</summary>
    public GlanceClient Client => new(Http);

    /// <summary>Starts the host (silo and Kestrel) and connects the HTTP client.</summary>
    public GlanceFactory Start()
    {
        StartServer();
        var addresses = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        var address = addresses.Single();
        Assert.StartsWith("http://127.0.0.1:", address);
        BaseAddress = new Uri(address.TrimEnd('/'));
        _client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, UseProxy = false })
        {
            BaseAddress = BaseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
        return this;
    }

    /// <inheritdoc />
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Glance:DataDirectory", _dataDirectory);
        builder.UseSetting("Glance:SiloPort", _siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("Glance:GatewayPort", "0");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        builder.UseSetting("Logging:LogLevel:Orleans", "Error");
        builder.UseSetting("Logging:LogLevel:Microsoft.AspNetCore", "Error");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        _client?.Dispose();
        await base.DisposeAsync();
    }

    /// <summary>A TCP port that was free a moment ago.</summary>
    public static int FreeTcpPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }
}

