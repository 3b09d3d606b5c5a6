import ECDHTTP

/// The simulator without its listener: state, callback delivery, control and the router. The
/// `CronofySimulator` puts a server in front of it; unit tests drive the router directly.
struct SimulatorComponents: Sendable {
    let store: SimulatorStore
    let dispatcher: CallbackDispatcher
    let control: SimulatorControl
    let router: Router

    init(configuration: SimulatorConfiguration, transport: (any CallbackTransport)? = nil) {
        let transport = transport ?? HTTPCallbackTransport(caFile: configuration.callbackCAFile)
        store = SimulatorStore(configuration: configuration)
        dispatcher = CallbackDispatcher(
            store: store, transport: transport, policy: CallbackDispatcher.Policy(configuration: configuration))
        control = SimulatorControl(store: store)
        router = SimulatorRoutes(store: store, dispatcher: dispatcher, control: control).makeRouter()
    }
}
