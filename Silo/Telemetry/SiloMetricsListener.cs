using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace Glance.Silo.Telemetry;

/// <summary>
/// The headless silo's <c>/metrics</c>: the API's exporter (OpenTelemetry's Prometheus exporter, the
/// same meters: Orleans' and the service's, <see cref="Grains.Telemetry.TelemetryHosting.AddGlanceOpenTelemetry"/>),
/// served by a Kestrel of its own on <see cref="SiloMetricsOptions.Address"/>:<see cref="SiloMetricsOptions.Port"/>.
/// The silo's host stays a plain host; this server answers the one path and nothing else.
/// </summary>
public sealed class SiloMetricsListener(MeterProvider meters, IOptions<SiloMetricsOptions> options, ILogger<SiloMetricsListener> logger) : IHostedService, IAsyncDisposable
{
    private WebApplication? _server;

    /// <summary>The exporter and the listener, when <c>Glance:Metrics:Port</c> is set (checked at start).</summary>
    public static void AddTo(IHostApplicationBuilder builder, MeterProviderBuilder metrics)
    {
        var settings = SiloMetricsOptions.From(builder.Configuration);
        if (settings.Problem() is { } problem)
        {
            throw new InvalidOperationException(problem);
        }
        if (!settings.Listens)
        {
            return;
        }
        builder.Services.AddOptions<SiloMetricsOptions>().BindConfiguration(SiloMetricsOptions.Section)
            .Validate(o => o.Problem() is null, $"Invalid {SiloMetricsOptions.Section} settings (see SiloMetricsOptions.Problem)")
            .ValidateOnStart();
        // Each scrape reads the instruments now, as the API's.
        metrics.AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0);
        builder.Services.AddHostedService<SiloMetricsListener>();
    }

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var endpoint = new IPEndPoint(IPAddress.Parse(settings.Address), settings.Port!.Value);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(endpoint));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.UseOpenTelemetryPrometheusScrapingEndpoint(meters, context => context.Request.Path == SiloMetricsOptions.Path, null, null, null);
        app.Run(context =>
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
        await app.StartAsync(cancellationToken);
        _server = app;
        logger.LogInformation("Metrics for Prometheus at http://{Endpoint}{Path}", endpoint, SiloMetricsOptions.Path);
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not null)
        {
            await _server.StopAsync(cancellationToken);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
