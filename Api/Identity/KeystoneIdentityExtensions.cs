using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Glance.Api.Identity;

/// <summary>Registration of Keystone token validation (<see cref="KeystoneOptions"/>).</summary>
public static class KeystoneIdentityExtensions
{
    /// <summary>
    /// The options (checked at start-up), Keystone's HttpClient and the authenticator. Always
    /// registered; without <c>Glance:Identity:Keystone:Url</c> the authenticator is off.
    /// </summary>
    public static IHostApplicationBuilder AddKeystoneIdentity(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<KeystoneOptions>().BindConfiguration(KeystoneOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<KeystoneOptions>, KeystoneOptionsValidator>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddHttpClient(KeystoneClient.HttpClientName, (services, http) =>
            {
                var options = services.GetRequiredService<IOptions<KeystoneOptions>>().Value;
                if (options.Enabled)
                {
                    http.BaseAddress = options.V3BaseUri();
                }
                // Bounded: an unreachable or hanging Keystone means 503, not a request that waits forever.
                http.Timeout = TimeSpan.FromSeconds(options.TimeoutSeconds);
                http.MaxResponseContentBufferSize = 1 << 20;
            })
            .ConfigurePrimaryHttpMessageHandler(services => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseCookies = false,
                ConnectTimeout = TimeSpan.FromSeconds(services.GetRequiredService<IOptions<KeystoneOptions>>().Value.TimeoutSeconds),
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            });
        builder.Services.AddSingleton<KeystoneClient>();
        builder.Services.AddSingleton<KeystoneAuthenticator>();
        return builder;
    }
}
